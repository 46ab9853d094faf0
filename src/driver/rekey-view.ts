/**
 * What a wrapper of a secure stream (a Node stream, a pull-stream duplex, a multiserver stream)
 * passes through about the rekey extension (docs/REKEY.md): the stream's own answers, read live.
 */
import type { SecureStream } from './types.ts'

/** The rekey extension's state of the connection under a wrapper. */
export type RekeyView = Pick<SecureStream, 'rekeying' | 'rekeys' | 'rekey'>

/** Puts `stream`'s `rekeying`, `rekeys` and `rekey()` on `target`, as read-only properties. */
export function withRekeyView<T extends object> (target: T, stream: SecureStream): T & RekeyView {
  return Object.defineProperties(target, {
    rekeying: { get: () => stream.rekeying, enumerable: true },
    rekeys: { get: () => stream.rekeys, enumerable: true },
    rekey: { value: async (): Promise<void> => { await stream.rekey() } }
  }) as T & RekeyView
}
