/** The WebSocket entry points (Node's `ws`), as fuzz entries. */
import { WebSocket } from 'ws'
import { clientHandshake, connectWebSocket, listenWebSocket, webSocketDuplex } from '../../../src/index.ts'
import { type Accepted, type FuzzEntry, positional } from './entry.ts'
import { SERVER_OPTIONS, SERVER_VALID } from './entries-net.ts'
import { type FuzzFixture, echo, exchange } from './fixture.ts'
import { withOption } from './values.ts'

export function wsEntries (fixture: FuzzFixture): FuzzEntry[] {
  const client = { keys: fixture.clientKeys, networkKey: fixture.networkKey, remotePublicKey: fixture.serverKeys.publicKey }
  const url = (): string => `ws://127.0.0.1:${fixture.ws.address().port}`
  return [
    {
      name: 'connectWebSocket',
      options: ['url', 'ca', 'pingInterval', 'keys', 'networkKey', 'remotePublicKey', 'timeout', 'signal', 'onHandshakeProgress', 'idleTimeout'],
      async call (path, value) {
        const stream = await connectWebSocket(withOption({ ...client, url: url() }, path, value) as unknown as Parameters<typeof connectWebSocket>[0])
        return { exercise: async () => { await exchange(stream) }, close: async () => { stream.abort() } }
      }
    },
    {
      name: 'listenWebSocket',
      options: [...SERVER_OPTIONS, 'cert', 'key', 'pingInterval'],
      valid: SERVER_VALID,
      async call (path, value) {
        const options = withOption({ keys: fixture.serverKeys, networkKey: fixture.networkKey, port: 0 }, path, value)
        const listener = await listenWebSocket(options as unknown as Parameters<typeof listenWebSocket>[0], positional(path, 'onStream', value, echo))
        return {
          async exercise () {
            await exchange(await connectWebSocket({ ...client, url: `ws://127.0.0.1:${listener.address().port}` }))
          },
          close: async () => { await listener.close() }
        }
      }
    },
    {
      name: 'webSocketDuplex',
      options: ['(socket)', 'pingInterval'],
      async call (path, value): Promise<Accepted> {
        const socket = new WebSocket(url())
        socket.on('error', () => {})
        await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
        let duplex
        try {
          duplex = webSocketDuplex(positional(path, 'socket', value, socket), withOption({}, path, value) as Parameters<typeof webSocketDuplex>[1])
        } catch (err) {
          socket.terminate()
          throw err
        }
        return {
          async exercise () { await exchange(await clientHandshake(duplex, client)) },
          close: async () => { socket.terminate() }
        }
      }
    }
  ]
}
