/**
 * A client's rekey mode (docs/REKEY.md, "Negotiation"): a server without the extension cannot
 * verify a hello MAC'd with the extension's key, so it hangs up right after message 1. Under
 * `prefer` the client then connects again with plain SHS1; under `require` it reports why.
 */
import { ShsError } from '../errors.ts'
import { rekeyRefused } from '../handshake/explain.ts'
import type { SecretHandshake } from '../handshake/machine.ts'
import type { RekeySettings } from '../handshake/rekey-options.ts'
import type { HandshakeError } from '../errors.ts'

/**
 * Runs `attempt` with `first` (which asks for the extension when `rekey` is set), and once more
 * with a plain SHS1 machine from `plain` when `prefer` meets a server that hung up after our hello.
 */
export async function withRekeyFallback<T> (
  rekey: RekeySettings | undefined,
  first: SecretHandshake,
  plain: () => SecretHandshake,
  attempt: (machine: SecretHandshake) => Promise<T>
): Promise<T> {
  if (rekey === undefined) return await attempt(first)
  try {
    return await attempt(first)
  } catch (err) {
    if (!(err instanceof ShsError) || err.code !== 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO') throw err
    if (rekey.mode === 'require') throw rekeyRefused(err as HandshakeError)
    return await attempt(plain())
  }
}
