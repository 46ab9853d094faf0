/**
 * Child-process server: `server.ts <ours|reference|tcp> <sink|echo|idle> [bytes]`. Listens on
 * loopback, announces its port and key, then answers `measure` (its memory after full GCs) and
 * `accepted` (handshakes completed so far).
 */
import { type ImplName, type ServerMode, loadTransport } from '../impl/types.ts'
import { hex, servePeer } from './ipc.ts'
import { settledMemory } from './protocol.ts'

const [implArg, modeArg, bytesArg] = process.argv.slice(2)
const transport = await loadTransport(implArg as ImplName)
const mode: ServerMode = modeArg === 'sink'
  ? { kind: 'sink', bytes: Number(bytesArg) }
  : { kind: modeArg === 'echo' ? 'echo' : 'idle' }
const server = await transport.serve(mode)

servePeer({ port: server.target.port, publicKey: hex(server.target.publicKey) }, {
  measure: async () => ({ ...await settledMemory(), accepted: server.accepted() }),
  accepted: async () => ({ accepted: server.accepted() })
}, async () => { await server.close() })
