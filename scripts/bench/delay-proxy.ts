/**
 * A loopback TCP proxy that holds everything it relays for a fixed time in each direction, in
 * order, FIN included: a long path's latency without root or a netem qdisc. Each side's TCP
 * handshake is with the proxy, so TCP's own round trip is not counted (on a real path it adds
 * one round trip, to every transport alike). No bandwidth limit and no loss: the bench uses it
 * for handshakes, not for bulk transfers. With a tracer set, the next connection's chunks are
 * logged as they arrive (a packet trace without root: what each round trip carries).
 */
import net from 'node:net'
import { HOST } from './config.ts'
import { ignore } from './transports/types.ts'

export interface DelayProxy {
  readonly port: number
  /** From now on, every chunk relayed is reported to `trace` (--trace): when it reached the proxy, which way, how big. */
  traceNext: (trace: (line: string) => void) => void
  close: () => Promise<void>
}

/** The first bytes of a chunk as text, for a trace: multistream-select's protocol names show. */
const TRACE_PREFIX_BYTES = 40
const printable = (chunk: Buffer): string => chunk.subarray(0, TRACE_PREFIX_BYTES).toString('latin1').replace(/[^\x20-\x7e]/g, '.')

type Held = Buffer | 'end' | 'close'

/** Passes one held item on: bytes, the half-close, or the other leg's close (a reset or a full close). */
function deliver (to: net.Socket, item: Held): void {
  if (item === 'end') to.end()
  else if (item === 'close') to.destroy()
  else to.write(item)
}

/** One direction: chunks, the end and the close leave `delayMs` after they happened, in order. */
function delayedPipe (from: net.Socket, to: net.Socket, delayMs: number, trace?: (chunk: Buffer) => void): void {
  const queue: Array<{ due: number, item: Held }> = []
  let timer: NodeJS.Timeout | undefined
  const release = (): void => {
    const now = performance.now()
    while (queue.length > 0 && (queue[0] as { due: number }).due <= now) deliver(to, (queue.shift() as { item: Held }).item)
    const next = queue[0]
    timer = next === undefined ? undefined : setTimeout(release, Math.max(0, next.due - now))
  }
  const hold = (item: Held): void => {
    if (delayMs === 0) { deliver(to, item); return }
    queue.push({ due: performance.now() + delayMs, item })
    timer ??= setTimeout(release, delayMs)
  }
  from.on('data', (chunk: Buffer) => { trace?.(chunk); hold(chunk) })
  from.on('end', () => { hold('end') })
  from.on('close', () => { hold('close') })
  to.on('close', () => { clearTimeout(timer) })
}

/** Listens on a free loopback port and relays each connection to `targetPort` with `delayMs` each way. */
export async function startDelayProxy (targetPort: number, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<net.Socket>()
  let tracer: ((line: string) => void) | undefined
  const track = (socket: net.Socket): void => {
    sockets.add(socket)
    socket.setNoDelay(true)
    socket.once('close', () => sockets.delete(socket))
  }
  const server = net.createServer({ allowHalfOpen: true }, (inbound) => {
    const outbound = net.connect({ host: HOST, port: targetPort, allowHalfOpen: true })
    track(inbound)
    track(outbound)
    // An error is followed by 'close', which reaches the other leg after the delay, as a reset would.
    for (const socket of [inbound, outbound]) socket.on('error', ignore)
    const trace = tracer
    tracer = undefined
    const opened = performance.now()
    const traced = (direction: string) => trace === undefined
      ? undefined
      : (chunk: Buffer) => { trace(`${(performance.now() - opened).toFixed(0).padStart(6)} ms  ${direction}  ${String(chunk.byteLength).padStart(5)} B  ${printable(chunk)}`) }
    delayedPipe(inbound, outbound, delayMs, traced('client → server'))
    delayedPipe(outbound, inbound, delayMs, traced('server → client'))
  })
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    traceNext: (trace) => { tracer = trace },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
