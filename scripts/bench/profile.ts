/**
 * One scenario of the bench, alone, for `node --cpu-prof`:
 *
 *   node --cpu-prof --cpu-prof-dir=bench-results/profiles scripts/bench/profile.ts <scenario> [MiB]
 *   node scripts/bench/profile-summary.ts bench-results/profiles/<file>.cpuprofile
 *
 * Scenarios: `one` (box stream, both ends here), `send` / `receive` (this process is the sender /
 * the receiver, the other end a child process running the same code), `handshake` (in-memory
 * pairs), `connect` (sequential connect + handshake + close against a child echo server), `load`
 * (this process is the server, 16 clients in a child process connect, handshake and close).
 * A child peer is not profiled; profile `receive` to see the receiving side.
 */
import { startPeer } from './child.ts'
import { MiB } from './config.ts'
import { memoryPair } from './impl/memory-pair.ts'
import { ours } from './impl/ours.ts'
import { type Target, makeChunk } from './impl/types.ts'
import { SSB_NETWORK_KEY, clientHandshake, generateKeyPair, serverHandshake } from '../../src/index.ts'

const DEFAULT_MIB = 256
const HANDSHAKES = 2000
const CONNECTIONS = 1000
const LOAD_CLIENTS = 16
const LOAD_MS = 5000

const [scenario = 'one', mibArg] = process.argv.slice(2)
const bytes = Number(mibArg ?? DEFAULT_MIB) * MiB
const chunk = makeChunk()

function targetOf (ready: { port?: number, publicKey?: string }): Target {
  return { port: ready.port ?? 0, publicKey: new Uint8Array(Buffer.from(ready.publicKey ?? '', 'hex')) }
}

const started = performance.now()
switch (scenario) {
  case 'one': {
    const server = await ours.serve({ kind: 'sink', bytes })
    await ours.transfer(server.target, bytes, chunk)
    await server.close()
    break
  }
  case 'send': {
    const peer = await startPeer('server', ['ours', 'sink', String(bytes)])
    await ours.transfer(targetOf(peer.ready), bytes, chunk)
    await peer.exit()
    break
  }
  case 'receive': {
    const server = await ours.serve({ kind: 'sink', bytes })
    // The child only connects and sends; this process decrypts.
    const clients = await startPeer('clients', ['ours', String(server.target.port), Buffer.from(server.target.publicKey).toString('hex')])
    await clients.request('send', bytes)
    await clients.exit()
    await server.close()
    break
  }
  case 'handshake': {
    const client = generateKeyPair()
    const server = generateKeyPair()
    for (let pair = 0; pair < HANDSHAKES; pair++) {
      const [a, b] = memoryPair()
      const streams = await Promise.all([
        clientHandshake(a, { keys: client, networkKey: SSB_NETWORK_KEY, remotePublicKey: server.publicKey }),
        serverHandshake(b, { keys: server, networkKey: SSB_NETWORK_KEY })
      ])
      for (const stream of streams) stream.abort()
    }
    break
  }
  case 'connect': {
    const peer = await startPeer('server', ['ours', 'echo'])
    const target = targetOf(peer.ready)
    for (let connection = 0; connection < CONNECTIONS; connection++) await ours.connectAndClose(target)
    await peer.exit()
    break
  }
  case 'load': {
    const server = await ours.serve({ kind: 'echo' })
    const clients = await startPeer('clients', ['ours', String(server.target.port), Buffer.from(server.target.publicKey).toString('hex')])
    await clients.request('start-load', LOAD_CLIENTS)
    await new Promise((resolve) => setTimeout(resolve, LOAD_MS))
    const { completed } = await clients.request('stop-load')
    process.stderr.write(`load: ${String(completed)} handshakes in ${LOAD_MS} ms\n`)
    await clients.exit()
    await server.close()
    break
  }
  default:
    throw new RangeError(`unknown scenario "${scenario}": one, send, receive, handshake, connect or load`)
}
process.stderr.write(`${scenario}: ${(performance.now() - started).toFixed(0)} ms\n`)
