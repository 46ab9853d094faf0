/**
 * `npm run test:peers`: may a client send box-stream data before message 4 arrives? It holds its
 * session keys from message 2 on, so it could send its first packet right behind message 3 and
 * save a round trip, if every server keeps bytes that arrive before it has sent message 4. A
 * hand-rolled SHS1 client (test/helpers/adversary) sends one packet in three ways (after message
 * 4 as a control, in the same write as message 3, in its own write right after message 3) to
 * each server here and records what comes back. The matrix below is what was observed; a change
 * in any server's behaviour fails the test and shows here.
 */
import assert from 'node:assert/strict'
import sodium from 'sodium-native'
import { BoxStreamDecoder, SSB_NETWORK_KEY, type SessionKeys, generateKeyPair, listen } from '../../src/index.ts'
import { concatBytes, randomBytes } from '../../src/crypto/primitives.ts'
import { reference } from '../../scripts/bench/transports/reference.ts'
import { ClientSteps } from '../helpers/adversary/handshake.ts'
import { craftPacket, nonceAt, sealHeader } from '../helpers/adversary/packets.ts'
import { RawPeer } from '../helpers/adversary/sockets.ts'
import { BOX_HEADER_BYTES, HELLO_BYTES, MAC_BYTES, SERVER_ACCEPT_BYTES } from '../helpers/adversary/wire.ts'
import { type PeerName, type PeerServer, buildPeers, startPeerServer } from './servers.ts'

const WHEN = ['after message 4', 'with message 3', 'right after message 3'] as const
type When = typeof WHEN[number]
type Outcome = 'echoed intact' | 'closed before message 4' | 'invalid message 4' | 'message 4, then closed' | 'echo altered' | 'goodbye instead of the echo' | 'no answer in time'

/** What each server did (observed on go-secretstream 8d13e20, python-ssb 07fb787, shs1-c fbc0893). */
const ALL_ECHO: Record<When, Outcome> = { 'after message 4': 'echoed intact', 'with message 3': 'echoed intact', 'right after message 3': 'echoed intact' }
const OBSERVED: Record<string, Record<When, Outcome>> = {
  'shs-transport (ours)': ALL_ECHO,
  'secret-handshake + pull-box-stream (npm reference)': ALL_ECHO,
  'go-secretstream, net.Conn': ALL_ECHO,
  'go-secretstream, Boxer/Unboxer': ALL_ECHO,
  'python-ssb': ALL_ECHO,
  'shs1-c': ALL_ECHO
}

const PAYLOAD = randomBytes(300)
/** A server that neither answers nor hangs up is given this long (python-ssb never hangs up). */
const PROBE_LIMIT_MS = 10_000
const GOODBYE_BYTES = 2 + MAC_BYTES
/** Far more packets than any server splits a 300-byte echo into: a bound on the read loop. */
const MAX_PACKETS = 64

/** One connection: messages 1 to 3 by hand, the data packet at `when`, then message 4 and the echo. */
async function probe (port: number, serverKey: Uint8Array, when: When): Promise<Outcome> {
  const peer = await RawPeer.connect(port)
  let late = false
  const timer = setTimeout(() => { late = true; peer.destroy() }, PROBE_LIMIT_MS)
  try {
    const steps = new ClientSteps(generateKeyPair(), SSB_NETWORK_KEY, serverKey)
    peer.write(steps.hello)
    const msg2 = await peer.read(HELLO_BYTES)
    if (msg2 === undefined || !steps.acceptHello(msg2)) throw new Error('the server sent no valid message 2: the probe cannot start')
    steps.deriveAb()
    const session = steps.session()
    const packet = craftPacket(session, 0, PAYLOAD)
    if (when === 'with message 3') peer.write(concatBytes(steps.auth(), packet))
    else peer.write(steps.auth())
    if (when === 'right after message 3') peer.write(packet)
    const msg4 = await peer.read(SERVER_ACCEPT_BYTES)
    if (msg4 === undefined) return late ? 'no answer in time' : 'closed before message 4'
    if (!steps.acceptServerAccept(msg4)) return 'invalid message 4'
    if (when === 'after message 4') peer.write(packet)
    const echoed = await readEcho(peer, session)
    if (echoed === undefined) return late ? 'no answer in time' : 'message 4, then closed'
    // A clean end, so no server reports a cut connection: our goodbye, then its goodbye or its FIN.
    peer.write(sealHeader(session, 1, new Uint8Array(GOODBYE_BYTES)))
    await peer.read(BOX_HEADER_BYTES)
    return echoed
  } finally {
    clearTimeout(timer)
    peer.destroy()
  }
}

/** Reads packets until PAYLOAD's length of plaintext came back; undefined if the connection ended first. */
async function readEcho (peer: RawPeer, session: SessionKeys): Promise<Outcome | undefined> {
  const decoder = new BoxStreamDecoder(session.decryptKey, session.decryptNonce)
  const received: Uint8Array[] = []
  let length = 0
  for (let index = 0; length < PAYLOAD.byteLength; index++) {
    if (index === MAX_PACKETS) return 'echo altered'
    const header = await peer.read(BOX_HEADER_BYTES)
    if (header === undefined) return undefined
    const opened = new Uint8Array(GOODBYE_BYTES)
    if (!sodium.crypto_secretbox_open_easy(opened, header, nonceAt(session.decryptNonce, 2 * index), session.decryptKey)) return 'echo altered'
    if (opened.every((byte) => byte === 0)) return 'goodbye instead of the echo'
    const body = await peer.read(((opened[0] as number) << 8) | (opened[1] as number))
    if (body === undefined) return undefined
    for (const plaintext of decoder.push(concatBytes(header, body))) {
      received.push(plaintext)
      length += plaintext.byteLength
    }
  }
  return Buffer.from(concatBytes(...received)).equals(PAYLOAD) ? 'echoed intact' : 'echo altered'
}

interface Server { readonly port: number, readonly publicKey: Uint8Array, stop: () => Promise<void> }

describe('early data: a box-stream packet before message 4, against every reference server here (npm run test:peers)', function () {
  this.timeout(300_000)
  const servers = new Map<string, Server>()
  let removeBuild: () => Promise<void> = async () => {}

  before(async () => {
    const keys = generateKeyPair()
    const ours = await listen({ port: 0, keys, networkKey: SSB_NETWORK_KEY }, (stream) => { stream.sink(stream.source).catch((err: unknown) => { process.stderr.write(`ours: ${String(err)}\n`) }) })
    servers.set('shs-transport (ours)', { port: ours.address().port, publicKey: keys.publicKey, stop: async () => { await ours.close() } })
    const npm = await reference.serve({ kind: 'echo' })
    servers.set('secret-handshake + pull-box-stream (npm reference)', { ...npm.target, stop: async () => { await npm.close() } })
    const { programs, remove } = await buildPeers()
    removeBuild = remove
    const start = async (name: string, peer: PeerName, extra: string[] = []): Promise<void> => {
      const peerKeys = generateKeyPair()
      const server: PeerServer = await startPeerServer(programs[peer], SSB_NETWORK_KEY, peerKeys.secretKey, extra)
      servers.set(name, server)
    }
    await start('go-secretstream, net.Conn', 'go-secretstream', ['-mode', 'conn'])
    await start('go-secretstream, Boxer/Unboxer', 'go-secretstream', ['-mode', 'raw'])
    await start('python-ssb', 'python-ssb')
    await start('shs1-c', 'shs1-c')
  })

  after(async () => {
    await Promise.all([...servers.values()].map(async (server) => { await server.stop() }))
    await removeBuild()
  })

  for (const [name, expected] of Object.entries(OBSERVED)) {
    for (const when of WHEN) {
      it(`${name}: data ${when}: ${expected[when]}`, async () => {
        const server = servers.get(name)
        assert.ok(server !== undefined, `${name} is running`)
        assert.equal(await probe(server.port, server.publicKey, when), expected[when])
      })
    }
  }
})
