/** The TCP entry points and the handshakes over any duplex, as fuzz entries. */
import {
  type ByteDuplex, type SecureStream, clientHandshake, connect, listen, serverHandshake
} from '../../../src/index.ts'
import { memoryDuplexPair } from '../../helpers/duplex.ts'
import { type Accepted, type FuzzEntry, positional } from './entry.ts'
import { type FuzzFixture, echo, exchange } from './fixture.ts'
import { withOption } from './values.ts'

const CALLBACKS = ['authorize', 'onConnection', 'onHandshakeError', 'onHandshakeProgress', 'onError'] as const

/** The rekey extension's option and its settings (docs/REKEY.md), on every entry point that takes it. */
export const REKEY_OPTIONS = ['rekey', 'rekey.mode', 'rekey.afterBytes', 'rekey.afterMs', 'rekey.timeout'] as const

/** `{}` is `prefer` with the defaults; 2^31 bytes is inside afterBytes' range (2^31 ms is past the timers'). */
export const REKEY_VALID: Readonly<Record<string, readonly string[]>> = { rekey: ['{}'], 'rekey.afterBytes': ['2^31'] }

/** Every option `listen` and `listenWebSocket` share (the hostile-load guard's included). */
export const SERVER_OPTIONS = [
  'port', 'host', 'keys', 'networkKey', 'timeout', 'helloTimeout', 'idleTimeout', 'maxPendingHandshakes', 'earlyDropFrom',
  'earlyDropRate', 'maxPendingPerSource', 'sourcePrefixes', 'sourcePrefixes.ipv4', 'sourcePrefixes.ipv6', 'penalties',
  'penalties.perFailure', 'penalties.blockAbove', 'penalties.max', 'penalties.maxSources', 'maxConnections',
  'maxConnectionsPerKey', ...REKEY_OPTIONS, ...CALLBACKS, '(onStream)'
] as const

/** Values inside the documented ranges of the server options. */
export const SERVER_VALID: Readonly<Record<string, readonly string[]>> = {
  ...REKEY_VALID,
  port: ['0'],
  // A host name like any other (it is not ours, so binding to it fails at the network).
  host: ["'5'"],
  earlyDropRate: ['0'],
  maxPendingHandshakes: ['2^31'],
  maxPendingPerSource: ['Infinity', '2^31'],
  maxConnections: ['Infinity', '2^31'],
  maxConnectionsPerKey: ['Infinity', '2^31'],
  sourcePrefixes: ['{}'],
  'sourcePrefixes.ipv4': ['0'],
  'sourcePrefixes.ipv6': ['0'],
  penalties: ['{}'],
  'penalties.blockAbove': ['0']
}

const CLIENT_OPTIONS = ['keys', 'networkKey', 'remotePublicKey', 'timeout', 'signal', 'onHandshakeProgress', 'earlyData'] as const

function streamAccepted (stream: SecureStream): Accepted {
  return {
    exercise: async () => { await exchange(stream) },
    close: async () => { stream.abort() }
  }
}

export function netEntries (fixture: FuzzFixture): FuzzEntry[] {
  const client = { keys: fixture.clientKeys, networkKey: fixture.networkKey, remotePublicKey: fixture.serverKeys.publicKey }
  const server = { keys: fixture.serverKeys, networkKey: fixture.networkKey }
  return [
    {
      name: 'connect (host and port)',
      options: ['host', 'port', ...CLIENT_OPTIONS, 'idleTimeout', ...REKEY_OPTIONS],
      valid: { host: ["'5'"], ...REKEY_VALID },
      async call (path, value) {
        const base = { ...client, host: '127.0.0.1', port: fixture.tcp.address().port }
        return streamAccepted(await connect(withOption(base, path, value) as unknown as Parameters<typeof connect>[0]))
      }
    },
    {
      name: 'listen',
      options: SERVER_OPTIONS,
      valid: SERVER_VALID,
      async call (path, value) {
        const options = withOption({ ...server, port: 0 }, path, value) as unknown as Parameters<typeof listen>[0]
        const listener = await listen(options, positional(path, 'onStream', value, echo))
        return {
          async exercise () {
            await exchange(await connect({ ...client, host: '127.0.0.1', port: listener.address().port }))
          },
          close: async () => { await listener.close() }
        }
      }
    },
    // A one-shot client takes only rekey 'require': every hostile value, {} (mode 'prefer') too, is refused.
    handshakeEntry('clientHandshake', [...CLIENT_OPTIONS, 'rekey', 'rekey.mode'], client, server),
    handshakeEntry('serverHandshake', ['keys', 'networkKey', 'timeout', 'signal', 'onHandshakeProgress', 'authorize', ...REKEY_OPTIONS], client, server, REKEY_VALID)
  ]
}

/** A handshake over an in-memory duplex, the other role played by the library with sane options. */
function handshakeEntry (
  name: 'clientHandshake' | 'serverHandshake', options: readonly string[],
  client: Parameters<typeof clientHandshake>[1], server: Parameters<typeof serverHandshake>[1],
  valid?: FuzzEntry['valid']
): FuzzEntry {
  return {
    name,
    options: ['(duplex)', ...options],
    valid,
    async call (path, value) {
      const [clientEnd, serverEnd] = memoryDuplexPair()
      const hangUp = (): void => { clientEnd.abort?.(new Error('fuzz case over')); serverEnd.abort?.(new Error('fuzz case over')) }
      const fuzzed = name === 'clientHandshake' ? clientEnd : serverEnd
      const duplex = positional<ByteDuplex>(path, 'duplex', value, fuzzed)
      const peer = name === 'clientHandshake' ? serverHandshake(serverEnd, server) : clientHandshake(clientEnd, client)
      // The peer's outcome is read below, or is a hang-up this entry caused itself.
      peer.catch(() => {})
      let ours: SecureStream
      try {
        ours = name === 'clientHandshake'
          ? await clientHandshake(duplex, withOption(client as unknown as Record<string, unknown>, path, value) as unknown as typeof client)
          : await serverHandshake(duplex, withOption(server as unknown as Record<string, unknown>, path, value) as unknown as typeof server)
      } catch (err) {
        hangUp()
        throw err
      }
      return {
        async exercise () {
          const theirs = await peer
          echo(theirs)
          await exchange(ours)
        },
        close: async () => { ours.abort(); hangUp() }
      }
    }
  }
}
