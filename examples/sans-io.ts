/**
 * The sans-IO core on its own: a client and a server handshake driven by hand, with plain
 * arrays standing in for the network, then a box stream each way. No sockets, no timers: put
 * the same loop on any transport (a serial line, a WebSocket, a message queue).
 *
 * Run it with `node examples/sans-io.ts` (Node >= 22.18, or 22.6+ with
 * --experimental-strip-types) after `npm run build`, or with `deno run -A` or `bun`.
 */
import {
  BoxStreamDecoder, BoxStreamEncoder, SSB_NETWORK_KEY, SecretHandshake, type SessionKeys, generateKeyPair
} from 'shs-transport'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()

// The client must know the server's public key; the server learns the client's in the handshake.
const client = SecretHandshake.client({ keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey })
const server = SecretHandshake.server({ keys: serverKeys, networkKey: SSB_NETWORK_KEY })

/** Bytes in flight, one queue per direction: what a socket would carry. */
const toServer: Uint8Array[] = []
const toClient: Uint8Array[] = []

/**
 * Does whatever the machine asks until it needs bytes that have not arrived yet. Returns the
 * session keys once the handshake is complete.
 */
function step (machine: SecretHandshake, inbox: Uint8Array[], outbox: Uint8Array[]): SessionKeys | undefined {
  for (;;) {
    const action = machine.next()
    switch (action.type) {
      case 'write':
        console.log(`${machine === client ? 'client' : 'server'} sends ${action.message} (${action.bytes.byteLength} bytes)`)
        outbox.push(action.bytes)
        break
      case 'read': {
        // A real transport may deliver fewer bytes; buffer until `action.length` are there.
        const bytes = inbox.shift()
        if (bytes === undefined) return undefined
        machine.receive(bytes)   // throws a typed ShsError if the bytes are wrong
        break
      }
      case 'authorize':
        // The place to check the client's key against an allow list.
        machine.authorize(true)
        break
      case 'complete':
        return action.session
    }
  }
}

let clientSession: SessionKeys | undefined
let serverSession: SessionKeys | undefined
while (clientSession === undefined || serverSession === undefined) {
  clientSession ??= step(client, toClient, toServer)
  serverSession ??= step(server, toServer, toClient)
}
console.log('handshake complete: each side knows the other\'s key:',
  Buffer.from(serverSession.remotePublicKey).equals(clientKeys.publicKey) &&
  Buffer.from(clientSession.remotePublicKey).equals(serverKeys.publicKey))

// The box stream: the client seals, the server opens, in whatever pieces the network delivers.
const sealer = new BoxStreamEncoder(clientSession.encryptKey, clientSession.encryptNonce)
const opener = new BoxStreamDecoder(serverSession.decryptKey, serverSession.decryptNonce)
const wire = Buffer.concat([sealer.encode(new TextEncoder().encode('hello from the client')), sealer.goodbye()])
console.log(`client seals 21 bytes of text into ${wire.byteLength} bytes on the wire (header, body, goodbye)`)

const received: Uint8Array[] = []
for (let offset = 0; offset < wire.byteLength; offset += 7) {
  received.push(...opener.push(wire.subarray(offset, offset + 7)))
}
opener.finish()   // throws if the stream ended without goodbye: a cut-off stream is not a clean end
console.log(`server opens: "${new TextDecoder().decode(Buffer.concat(received))}"`)
