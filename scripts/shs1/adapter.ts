/**
 * The shs1-test harness adapter: runs our sans-IO handshake over stdin/stdout exactly as the
 * harness expects (docs/PROTOCOL.md, "Public references"). On any invalid message it
 * exits non-zero at once and writes nothing more; on success it writes the 112-byte outcome.
 */
import { SecretHandshake, generateKeyPair, sessionOutcome } from '../../src/index.ts'
import { ByteReader } from '../../src/duplex/reader.ts'

const EXIT_REFUSED = 1
const EXIT_USAGE = 2

function fromHex (text: string | undefined, name: string): Uint8Array {
  if (text === undefined || !/^([0-9a-f]{2})+$/i.test(text)) {
    process.stderr.write(`shs1 adapter: ${name} must be given as hex\n`)
    process.exit(EXIT_USAGE)
  }
  return Uint8Array.from(Buffer.from(text, 'hex'))
}

export async function runShs1Adapter (role: 'client' | 'server', args: string[]): Promise<void> {
  const networkKey = fromHex(args[0], 'NETKEY')
  const machine = role === 'client'
    ? SecretHandshake.client({ keys: generateKeyPair(), networkKey, remotePublicKey: fromHex(args[1], 'SERVER_PK') })
    : SecretHandshake.server({ keys: { secretKey: fromHex(args[1], 'SERVER_SK'), publicKey: fromHex(args[2], 'SERVER_PK') }, networkKey })
  const reader = new ByteReader(process.stdin)
  try {
    for (;;) {
      const action = machine.next()
      if (action.type === 'write') {
        process.stdout.write(action.bytes)
      } else if (action.type === 'read') {
        const message = await reader.read(action.length)
        if (message === undefined) throw machine.peerHungUp()
        machine.receive(message)
      } else if (action.type === 'authorize') {
        machine.authorize(true)
      } else {
        process.stdout.write(sessionOutcome(action.session), () => process.exit(0))
        return
      }
    }
  } catch (err) {
    process.stderr.write(`shs1 adapter (${role}): ${(err as Error).message}\n`)
    process.exit(EXIT_REFUSED)
  }
}
