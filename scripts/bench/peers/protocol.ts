/**
 * The IPC between the bench and its child-process peers: the child announces itself once, then
 * answers numbered requests. Replies carry only numbers, so they cross the channel as plain JSON.
 */

export interface Ready {
  readonly type: 'ready'
  readonly port?: number
  /** The server's public key, hex (the clients need it to dial). */
  readonly publicKey?: string
}

export interface Request {
  readonly type: 'request'
  readonly id: number
  readonly op: string
  readonly n: number
}

export type Reply = Readonly<Record<string, number>>

export type Response =
  | { readonly type: 'response', readonly id: number, readonly ok: true, readonly reply: Reply }
  | { readonly type: 'response', readonly id: number, readonly ok: false, readonly error: string }

export type FromPeer = Ready | Response

export const EXIT_OP = 'exit'

/** Forces full collections until the heap stops moving, then reads the process's memory. */
export async function settledMemory (): Promise<Reply> {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect === undefined) throw new Error('memory is only measured with node --expose-gc')
  // Several rounds: finalizers and weak callbacks of one collection free more in the next.
  const ROUNDS = 4
  for (let round = 0; round < ROUNDS; round++) {
    collect()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const usage = process.memoryUsage()
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers }
}
