/** The child side of the IPC: announce readiness, then answer requests with the given handlers. */
import { EXIT_OP, type FromPeer, type Ready, type Reply, type Request } from './protocol.ts'

export type Handler = (n: number) => Promise<Reply>

function send (message: FromPeer): void {
  process.send?.(message)
}

export function servePeer (ready: Omit<Ready, 'type'>, handlers: Readonly<Record<string, Handler>>, onExit: () => Promise<void>): void {
  if (process.send === undefined) throw new Error('this script is a bench peer: run it through scripts/bench/run.ts')
  // An orphaned peer (the bench crashed or was interrupted) must not linger holding sockets.
  process.on('disconnect', () => { process.exit(0) })
  process.on('message', (message: Request) => {
    if (message.op === EXIT_OP) {
      onExit().finally(() => {
        send({ type: 'response', id: message.id, ok: true, reply: {} })
        process.disconnect()
      })
      return
    }
    const handler = handlers[message.op]
    const run = handler === undefined
      ? Promise.reject(new Error(`unknown request "${message.op}"`))
      : handler(message.n)
    run.then((reply) => { send({ type: 'response', id: message.id, ok: true, reply }) },
      (err: unknown) => { send({ type: 'response', id: message.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }) })
  })
  send({ type: 'ready', ...ready })
}

export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}
