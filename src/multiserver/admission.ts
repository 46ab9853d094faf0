/**
 * The multiserver plugin's server side under hostile load: every incoming stream passes the
 * same admission as listen()'s sockets (per-source caps, random early drop, the pending cap, the
 * hello deadline; src/net/admission.ts), keyed by the address multiserver's transport put on the
 * stream. A refused stream is torn down before a byte is read.
 */
import { ConnectionError, HandshakeError, InvalidOptionError, ShsError } from '../errors.ts'
import { checkGroup, describeValue } from '../options.ts'
import type { Authorize, HandshakeProgress } from '../driver/types.ts'
import type { AdmissionOptions } from '../net/admission.ts'
import { type GuardedHandshake, ListenGuard } from '../net/listen-guard.ts'

/** What the plugin's `admission` option takes: listen()'s admission settings and its hello deadline (docs/HOSTILE-LOAD.md). */
export interface PluginAdmissionOptions extends AdmissionOptions {
  /** Milliseconds a client may take to send its whole hello (default 5 000; no deadline of its own when `timeout` is shorter). */
  helloTimeout?: number
}

/** Transports whose address is `<name>:<host>:<port>` (multiserver's net and ws plugins). */
const HOST_PORT_TRANSPORTS = ['net:', 'ws:']

/**
 * The source host of a multiserver stream address: `net:127.0.0.2:50123` gives `127.0.0.2`,
 * `net:::1:50123` gives `::1`. Other transports (unix sockets, onion, a ws origin) name no
 * host: all their streams count as one source, the transport's name.
 */
export function streamSource (address: unknown): string {
  if (typeof address !== 'string') return 'unknown'
  const transport = HOST_PORT_TRANSPORTS.find((prefix) => address.startsWith(prefix))
  if (transport === undefined) {
    const colon = address.indexOf(':')
    return colon === -1 ? address : address.slice(0, colon)
  }
  const rest = address.slice(transport.length)
  const lastColon = rest.lastIndexOf(':')
  return lastColon === -1 ? rest : rest.slice(0, lastColon)
}

/** One per plugin: the guard every server-side stream of the plugin passes. */
export class PluginAdmission {
  readonly #guard: ListenGuard

  constructor (options: PluginAdmissionOptions | undefined, path: string) {
    const given = checkGroup(options, path) ?? {}
    for (const key of ['maxConnections', 'maxConnectionsPerKey', 'idleTimeout']) {
      if (key in given) {
        throw new InvalidOptionError(`${path}.${key}`, `${path}.${key} is an option of listen(), not of the multiserver plugin ` +
          `(whose streams belong to multiserver), got ${describeValue((given as Record<string, unknown>)[key])}`)
      }
    }
    // The plugin's streams live on in multiserver: nothing closes the guard.
    this.#guard = underPath(path, () => new ListenGuard(given, new AbortController().signal))
  }

  /** Server-side handshakes in progress now: at most `maxPendingHandshakes`. */
  get pending (): number {
    return this.#guard.pending
  }

  /** A guarded handshake for the stream at `address`, or the refusal to report. */
  admit (address: unknown, handshakeTimeout: number): GuardedHandshake | HandshakeError {
    return this.#guard.admit(streamSource(address), handshakeTimeout)
  }
}

/** Checks `options` as the plugin will, naming a bad one by its path in the caller's config (secret-stack's `multiserverShs.admission`). */
export function checkPluginAdmission (options: unknown, path: string): PluginAdmissionOptions | undefined {
  if (options !== undefined) void new PluginAdmission(options as PluginAdmissionOptions, path)
  return options as PluginAdmissionOptions | undefined
}

/** listen()'s checks name an option bare (`helloTimeout`); here it is `admission.helloTimeout`. */
function underPath<T> (path: string, make: () => T): T {
  try {
    return make()
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err
    throw new InvalidOptionError(`${path}.${err.option}`, err.message.startsWith(err.option) ? `${path}.${err.message}` : err.message)
  }
}

/** What a guarded server handshake is given: the guard's stopper, its progress hook, and the guard's authorize around the plugin's. */
export interface HandshakeGuard {
  signal: AbortSignal
  onHandshakeProgress: (step: HandshakeProgress) => void
  authorize: (decide: Authorize | undefined) => Authorize
}

/** Runs `run` under admission: refused at once (rejects with the refusal), or guarded until it settles. */
export async function admittedHandshake<T> (admission: PluginAdmission, address: unknown, timeout: number, run: (guard: HandshakeGuard) => Promise<T>): Promise<T> {
  const guarded = admission.admit(address, timeout)
  if (guarded instanceof HandshakeError) throw guarded
  try {
    const result = await run({
      signal: guarded.abortSignal(),
      onHandshakeProgress: (step) => { guarded.progress(step) },
      authorize: (decide) => (remote) => guarded.authorize(remote, () => decide === undefined ? true : decide(remote))
    })
    guarded.handedOn()
    return result
  } catch (err) {
    throw guarded.failed(err instanceof ShsError ? err : new ConnectionError(String(err), { cause: err }))
  }
}
