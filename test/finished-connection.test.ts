/**
 * A finished connection always ends (docs/CONNECTION.md, "A finished connection ends"): once both
 * goodbyes are exchanged, a peer that never sends its FIN, never answers the WebSocket close
 * frame, or trickles bytes after its goodbye, holds our socket (and a `maxConnections` slot) for
 * FINISHED_LINGER_MS at most. The peers are hand-rolled and half-open, so nothing on their side
 * ever closes; what is awaited is our side's socket going away, a bounded poll of a counter.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import { SSB_NETWORK_KEY, connect, generateKeyPair, listen, listenWebSocket, type SecureStream } from '../src/index.ts'
import {
  BOX_HEADER_BYTES, ClientSteps, RawPeer, SERVER_ACCEPT_BYTES, drain, handRolledAccept, sealHeader, sendHelloAndAuth
} from './helpers/adversary.ts'
import { countResources, useLeakChecks, waitFor } from './helpers/resources.ts'
import { handRolledWebSocketClient } from './helpers/ws-peer.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const networkKey = SSB_NETWORK_KEY
/** FINISHED_LINGER_MS (2 s) with room for a loaded machine: only turns a hang into a failure. */
const WAIT_MS = 10_000
/** The goodbye's plaintext: 18 zero bytes (docs/PROTOCOL.md, "Box stream"). */
const GOODBYE_PLAINTEXT = new Uint8Array(18)
/** The close code a WebSocket reports for a close frame without a status (RFC 6455, 7.1.5). */
const WS_CLOSE_WITHOUT_STATUS = 1005

function sockets (): number {
  return countResources().get('TCPSocketWrap') ?? 0
}

function echo (stream: SecureStream): void {
  stream.sink(stream.source).catch(() => {})
}

describe('a finished connection ends, whatever the peer does after the goodbyes', function () {
  this.timeout(30_000)
  const onCleanup = useLeakChecks()

  /** A hand-rolled client over half-open TCP: it never sends FIN unless told. */
  async function halfOpenClient (port: number): Promise<{ peer: RawPeer, goodbye: () => void, trickle: () => void }> {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
    const peer = new RawPeer(socket)
    onCleanup(() => { peer.destroy() })
    await new Promise((resolve) => socket.once('connect', resolve))
    const steps = new ClientSteps(clientKeys, networkKey, serverKeys.publicKey)
    await sendHelloAndAuth(peer, steps)
    const accept = await peer.read(SERVER_ACCEPT_BYTES)
    assert.ok(accept !== undefined && steps.acceptServerAccept(accept))
    const session = steps.session()
    return {
      peer,
      goodbye: () => { peer.write(sealHeader(session, 0, GOODBYE_PLAINTEXT)) },
      trickle: () => { if (!socket.destroyed) socket.write(new Uint8Array([0x42])) }
    }
  }

  it('listen(): a client that exchanges both goodbyes and never sends FIN frees its socket and its maxConnections slot', async () => {
    const listener = await listen({ port: 0, keys: serverKeys, networkKey, maxConnections: 1 }, echo)
    onCleanup(async () => { await listener.close() })
    const { port } = listener.address()
    const client = await halfOpenClient(port)
    const open = sockets()
    client.goodbye()
    // The server's goodbye, then its FIN; our peer answers neither.
    assert.ok(await client.peer.read(BOX_HEADER_BYTES) !== undefined, 'the server said goodbye')
    await waitFor(() => sockets() === open - 1, 'the server to drop its side', WAIT_MS)
    assert.equal(client.peer.socket.destroyed, false, 'the peer still holds its socket')
    const next = await connect({ host: '127.0.0.1', port, keys: generateKeyPair(), networkKey, remotePublicKey: serverKeys.publicKey })
    next.abort()
  })

  it('listen(): bytes trickled after the goodbye, once the app read the end, close the socket (the app never writes)', async () => {
    let reading: Promise<unknown> | undefined
    const listener = await listen({ port: 0, keys: serverKeys, networkKey }, (stream) => { reading = drain(stream.source) })
    onCleanup(async () => { await listener.close() })
    const client = await halfOpenClient(listener.address().port)
    client.goodbye()
    await waitFor(() => reading !== undefined, 'the stream', WAIT_MS)
    const { error } = await reading as { error: unknown }
    assert.equal(error, undefined, 'the app read a clean end')
    const open = sockets()
    const trickling = setInterval(client.trickle, 50)
    onCleanup(() => { clearInterval(trickling) })
    await waitFor(() => sockets() === open - 1, 'the server to drop the trickler', WAIT_MS)
  })

  it('connect(): a server that exchanges both goodbyes and never sends FIN is let go', async () => {
    const peers: RawPeer[] = []
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const peer = new RawPeer(socket)
      peers.push(peer)
      handRolledAccept(peer, serverKeys, networkKey).then((session) => {
        peer.write(sealHeader(session, 0, GOODBYE_PLAINTEXT))
      }, () => {})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onCleanup(async () => {
      for (const peer of peers) peer.destroy()
      await new Promise((resolve) => server.close(resolve))
    })
    const { port } = server.address() as net.AddressInfo
    const stream = await connect({ host: '127.0.0.1', port, keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey })
    const open = sockets()
    const [{ error }] = await Promise.all([drain(stream.source), stream.sink([])])
    assert.equal(error, undefined)
    await waitFor(() => sockets() === open - 1, 'the client to drop its side', WAIT_MS)
    assert.equal(peers[0]?.socket.destroyed, false, 'the server still holds its socket')
  })

  it('listenWebSocket(): a client that exchanges both goodbyes and never answers the close frame is cut; the close frame was sent', async () => {
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey, maxConnections: 1 }, echo)
    onCleanup(async () => { await listener.close() })
    const { port } = listener.address()
    const client = await handRolledWebSocketClient(`ws://127.0.0.1:${port}`, clientKeys, serverKeys.publicKey)
    onCleanup(() => { client.socket.terminate() })
    // A peer that never answers the close frame (ws answers it by calling close()).
    client.socket.close = () => {}
    const closed = new Promise<number>((resolve) => client.socket.once('close', resolve))
    void client.send(sealHeader(client.session, 0, GOODBYE_PLAINTEXT))
    assert.ok(await client.read(BOX_HEADER_BYTES) !== undefined, 'the server said goodbye')
    // Only the server can end this connection now: it cuts it once the linger is over.
    assert.equal(await closed, WS_CLOSE_WITHOUT_STATUS, 'the server sent its close frame (1006 would mean none came)')
    const next = await connect({ address: `ws://127.0.0.1:${port}~shs:${Buffer.from(serverKeys.publicKey).toString('base64')}`, keys: generateKeyPair(), networkKey })
    next.abort()
  })
})
