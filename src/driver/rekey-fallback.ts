/**
 * A client's rekey mode (docs/REKEY.md, "Negotiation"): a server without the extension cannot
 * verify a hello MAC'd with the extension's key, so it hangs up right after message 1 (or, as
 * python-ssb's does, never answers). Under `prefer` the client then connects again with plain
 * SHS1; under `require` it reports why.
 */
import { InvalidOptionError, ShsError } from '../errors.ts'
import type { HandshakeError } from '../errors.ts'
import { rekeyRefused } from '../handshake/explain.ts'
import type { SecretHandshake } from '../handshake/machine.ts'
import { type RekeySettings, checkRekeyOption } from '../handshake/rekey-options.ts'
import { describeValue } from '../options.ts'
import { UnansweredHelloError } from './handshake.ts'

/**
 * How long the first attempt waits for the server's hello, as a share of the handshake timeout:
 * a silent server must leave the plain attempt the other half.
 */
const HELLO_WAIT_SHARE = 0.5

/**
 * Runs `attempt` with `first` (which asks for the extension when `rekey` is set; its server hello
 * must come within `helloWait`, given to the attempt), and once more with a plain SHS1 machine from
 * `plain` when `prefer` meets a server that hung up after our hello or left it unanswered.
 */
export async function withRekeyFallback<T> (
  rekey: RekeySettings | undefined,
  timeout: number,
  first: SecretHandshake,
  plain: () => SecretHandshake,
  attempt: (machine: SecretHandshake, helloWait: number | undefined) => Promise<T>
): Promise<T> {
  if (rekey === undefined) return await attempt(first, undefined)
  try {
    return await attempt(first, Math.max(1, Math.floor(timeout * HELLO_WAIT_SHARE)))
  } catch (err) {
    const unanswered = err instanceof UnansweredHelloError
    if (!unanswered && (!(err instanceof ShsError) || err.code !== 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')) throw err
    if (rekey.mode === 'require') throw rekeyRefused(err as HandshakeError)
    return await attempt(plain(), undefined)
  }
}

/**
 * The `rekey` option of a client whose transport is one-shot (a duplex it was handed, a
 * multiserver transform): it cannot connect again, so `prefer` (and `true`) could not fall back
 * and would fail against every plain SHS1 server. Refused at the call, saying what to use instead.
 */
export function checkOneShotClientRekey (value: unknown, name: string, where: string): RekeySettings | undefined {
  const rekey = checkRekeyOption(value, name)
  if (rekey?.mode === 'prefer') {
    const given = typeof value === 'object' ? 'an object whose mode is \'prefer\' (the default)' : describeValue(value)
    throw new InvalidOptionError(name, `${name} is ${given}, and 'prefer' falls back to plain SHS1 by connecting ` +
      `again, which ${where} cannot: it runs on the one transport it was given. Use ${name}: 'require' (or ` +
      `{ mode: 'require', ... }) where the server has the extension, leave ${name} off for plain SHS1, ` +
      'or dial with connect() or connectWebSocket(), which can connect again')
  }
  return rekey
}
