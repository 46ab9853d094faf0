/**
 * A loopback relay between a client and a server that records every byte each way (a passive
 * observer's view of the wire) and can hold what the client sends until told to let it go.
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'

export class RecordingRelay extends EventEmitter {
  readonly toServer: Buffer[] = []
  readonly toClient: Buffer[] = []
  #held: Buffer[] | undefined
  #upstream: net.Socket | undefined
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()

  private constructor (server: net.Server) {
    super()
    this.#server = server
  }

  static async start (targetPort: number): Promise<RecordingRelay> {
    const server = net.createServer()
    const relay = new RecordingRelay(server)
    server.on('connection', (downstream) => { relay.#accept(downstream, targetPort) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return relay
  }

  get port (): number { return (this.#server.address() as net.AddressInfo).port }

  /** Bytes the client sent so far (held or not). */
  get bytesToServer (): number { return this.toServer.reduce((sum, chunk) => sum + chunk.byteLength, 0) }

  /** From now on, what the client sends is recorded but not passed on. */
  hold (): void { this.#held ??= [] }

  /** Passes on what was held, and everything after it. */
  release (): void {
    const held = this.#held ?? []
    this.#held = undefined
    for (const chunk of held) this.#upstream?.write(chunk)
  }

  async close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => { resolve() }))
  }

  #accept (downstream: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1')
    this.#upstream = upstream
    for (const socket of [downstream, upstream]) {
      this.#sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => { this.#sockets.delete(socket); downstream.destroy(); upstream.destroy() })
    }
    downstream.on('data', (chunk: Buffer) => {
      this.toServer.push(Buffer.from(chunk))
      if (this.#held !== undefined) this.#held.push(chunk)
      else upstream.write(chunk)
      this.emit('toServer')
    })
    upstream.on('data', (chunk: Buffer) => {
      this.toClient.push(Buffer.from(chunk))
      downstream.write(chunk)
    })
    downstream.on('end', () => { if (this.#held === undefined) upstream.end() })
    upstream.on('end', () => { downstream.end() })
  }
}
