/**
 * The caller contract, part three: however a handshake fails (refused, timed out, aborted, or the
 * server's authorize said no), every buffer that held a secret is zero afterwards, on every way in
 * that makes connections. The census (test/helpers/census.ts) watches the libsodium calls that
 * make or use secrets, so it sees the very memory, with no accessor into the library.
 */
import net from 'node:net'
import { once } from 'node:events'
import { WebSocketServer } from 'ws'
import {
  SSB_NETWORK_KEY, type SecureStream, ShsError, clientHandshake, connect, connectWebSocket, formatKey, generateKeyPair, listen,
  listenWebSocket, serverHandshake
} from '../../src/index.ts'
import { memoryDuplexPair } from '../helpers/duplex.ts'
import { SecretCensus } from '../helpers/census.ts'
import { freePort, useLeakChecks } from '../helpers/resources.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const common = { keys: clientKeys, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey }

type Dial = (target: { port: number, timeout?: number, signal?: AbortSignal }) => Promise<SecureStream>

/** The client ways in, each dialling a TCP port (WebSocket clients a ws:// URL on it). */
const CLIENTS: Record<string, { dial: Dial, ws: boolean }> = {
  'connect()': { ws: false, dial: async ({ port, ...rest }) => await connect({ ...common, host: '127.0.0.1', port, ...rest }) },
  'connect({ address })': {
    ws: false,
    dial: async ({ port, ...rest }) => await connect({ ...common, address: `net:127.0.0.1:${port}~shs:${formatKey(serverKeys.publicKey)}`, ...rest })
  },
  connectWebSocket: { ws: true, dial: async ({ port, ...rest }) => await connectWebSocket({ ...common, url: `ws://127.0.0.1:${port}`, ...rest }) }
}

/** A server that accepts and then says nothing at all. */
async function silentServer (ws: boolean): Promise<{ port: number, close: () => Promise<void> }> {
  if (ws) {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    return {
      port: (server.address() as net.AddressInfo).port,
      close: async () => {
        for (const client of server.clients) client.terminate()
        await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      }
    }
  }
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

async function expectFailure (attempt: Promise<unknown>): Promise<void> {
  try {
    await attempt
  } catch (err) {
    if (err instanceof ShsError) return
    throw err
  }
  throw new Error('the connection was expected to fail')
}

describe('contract: secrets are wiped on every failure path', function () {
  this.timeout(30_000)
  const onCleanup = useLeakChecks()
  let census: SecretCensus
  beforeEach(() => { census = new SecretCensus(); census.install() })
  afterEach(() => { census.uninstall() })

  for (const [name, { dial, ws }] of Object.entries(CLIENTS)) {
    it(`${name} refused (nothing listens): the ephemeral secret is wiped`, async () => {
      await expectFailure(dial({ port: await freePort() }))
      census.assertWiped({ expectKinds: ['ephemeral secret key'] })
    })

    it(`${name} timed out (the server says nothing): the ephemeral secret is wiped`, async () => {
      const server = await silentServer(ws)
      onCleanup(server.close)
      await expectFailure(dial({ port: server.port, timeout: 200 }))
      census.assertWiped({ expectKinds: ['ephemeral secret key'] })
    })

    it(`${name} aborted while the server says nothing: the ephemeral secret is wiped`, async () => {
      const server = await silentServer(ws)
      onCleanup(server.close)
      const controller = new AbortController()
      const dialling = dial({ port: server.port, signal: controller.signal })
      setTimeout(() => { controller.abort() }, 50)
      await expectFailure(dialling)
      census.assertWiped({ expectKinds: ['ephemeral secret key'] })
    })

    it(`${name} refused by the server's authorize: both sides' secrets are wiped`, async () => {
      const options = { port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, authorize: () => false }
      const listener = ws ? await listenWebSocket(options, () => {}) : await listen(options, () => {})
      await expectFailure(dial({ port: listener.address().port }))
      // The listener's own long-term curve secret lives until it closes.
      await listener.close()
      census.assertWiped({ expectKinds: ['ephemeral secret key', 'DH result', 'curve secret key'] })
    })
  }

  it('clientHandshake and serverHandshake over a duplex, refused by authorize: both sides\' secrets are wiped', async () => {
    const [clientEnd, serverEnd] = memoryDuplexPair()
    await Promise.all([
      expectFailure(clientHandshake(clientEnd, common)),
      expectFailure(serverHandshake(serverEnd, { keys: serverKeys, networkKey: SSB_NETWORK_KEY, authorize: () => false }))
    ])
    census.assertWiped({ expectKinds: ['ephemeral secret key', 'DH result', 'curve secret key'] })
  })

  it('clientHandshake aborted before the server answers: the ephemeral secret is wiped', async () => {
    const [clientEnd, serverEnd] = memoryDuplexPair()
    onCleanup(() => { serverEnd.abort?.(new Error('test over')) })
    await expectFailure(clientHandshake(clientEnd, { ...common, signal: AbortSignal.abort() }))
    census.assertWiped({ expectKinds: ['ephemeral secret key'] })
  })
})
