/**
 * How `shs connect -L [bind:]port:host:hostport` asks the far end to connect to host:hostport,
 * as ssh's -L asks sshd: the secure stream starts with one request line, the far end
 * (`shs listen --permit-open`) answers with one line, and the rest of the stream is that one
 * connection's bytes. Still one secure connection per TCP connection: nothing is multiplexed.
 *
 *   client: `shs-forward/1 HOST:PORT\n`, then the connection's bytes at once (no round trip)
 *   server: `shs-forward/1 ok\n` or `shs-forward/1 refused: REASON\n`, then the target's bytes
 */
import type { SecureStream } from '../index.ts'
import { type HostPort, formatHostPort, parseHostPort } from './address.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'

const PREFIX = 'shs-forward/1 '
const OK = 'ok'
const REFUSED = 'refused: '
/** A request or an answer: a host name is at most 253 bytes, a reason a sentence. */
const MAX_LINE_BYTES = 512
const NEWLINE = 0x0a

/** The far end did not open the connection we asked for; the message says why and what to check. */
export class ForwardRefusedError extends CliError {
  constructor (message: string) {
    super(EXIT.HANDSHAKE_REFUSED, message)
    this.name = 'ForwardRefusedError'
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function line (text: string): Uint8Array {
  return encoder.encode(`${PREFIX}${text}\n`)
}

/** The first line of a source (without its newline), the bytes after it, and the iterator to go on with. */
interface FirstLine {
  text: string | undefined
  rest: Uint8Array
  iterator: AsyncIterator<Uint8Array>
}

async function readFirstLine (source: AsyncIterable<Uint8Array>): Promise<FirstLine> {
  const iterator = source[Symbol.asyncIterator]()
  let seen = new Uint8Array(0)
  for (;;) {
    const end = seen.subarray(0, MAX_LINE_BYTES + 1).indexOf(NEWLINE)
    if (end !== -1) return { text: decoder.decode(seen.subarray(0, end)), rest: seen.subarray(end + 1), iterator }
    if (seen.byteLength > MAX_LINE_BYTES) return { text: undefined, rest: seen, iterator }
    const next = await iterator.next()
    if (next.done === true) return { text: undefined, rest: seen, iterator }
    const joined = new Uint8Array(seen.byteLength + next.value.byteLength)
    joined.set(seen)
    joined.set(next.value, seen.byteLength)
    seen = joined
  }
}

async function * resumed (first: FirstLine): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    if (first.rest.byteLength > 0) yield first.rest
    for (;;) {
      const next = await first.iterator.next()
      if (next.done === true) return
      yield next.value
    }
  } finally {
    await first.iterator.return?.()
  }
}

async function * prepended (head: Uint8Array, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  yield head
  yield * source
}

/**
 * The near end: `stream` as it carries one connection to `target`. The request goes out ahead
 * of the connection's first bytes; reading fails with a ForwardRefusedError unless the far end
 * answers that it opened `target`.
 */
export function requestForward (stream: SecureStream, target: HostPort): SecureStream {
  const where = formatHostPort(target)
  async function * source (): AsyncGenerator<Uint8Array, void, undefined> {
    const answer = await readFirstLine(stream.source)
    if (answer.text === `${PREFIX}${OK}`) {
      yield * resumed(answer)
      return
    }
    const error = answer.text?.startsWith(`${PREFIX}${REFUSED}`) === true
      ? new ForwardRefusedError(`the far end refused to open ${where}: ${answer.text.slice(PREFIX.length + REFUSED.length)}`)
      : new ForwardRefusedError(`the far end did not answer the request to open ${where}: it forwards to a target ` +
        'of its own (shs listen --forward), so use -L [bind:]port with it, or run it with --permit-open HOST:PORT')
    // The connection ends with this error, so the writing side reports it too, not a teardown of its own.
    stream.abort(error)
    throw error
  }
  return {
    remotePublicKey: stream.remotePublicKey,
    source: source(),
    sink: async (bytes) => { await stream.sink(prepended(line(formatHostPort(target)), bytes)) },
    abort: (reason) => { stream.abort(reason) },
    ...rekeyOf(stream)
  }
}

/** What the far end read: a target a client asked for, or why it cannot serve it. */
export type ForwardRequest =
  | {
    readonly kind: 'request'
    readonly target: HostPort
    /** The client's connection once `target` is open: our answer goes ahead of the target's first bytes. */
    readonly stream: SecureStream
    /** Tells the client why `target` could not be opened, and ends the stream. */
    readonly refuse: (reason: string) => Promise<void>
  }
  | { readonly kind: 'refused', readonly reason: string }
  | { readonly kind: 'none' }

/**
 * The far end: reads the client's request. A target not in `permitted` is refused with a reason
 * the client shows; a client that sent no request (`-L [bind:]port`) gets nothing back, as its
 * bytes are not ours to answer.
 */
export async function acceptForward (stream: SecureStream, permitted: readonly HostPort[]): Promise<ForwardRequest> {
  const request = await readFirstLine(stream.source)
  if (request.text?.startsWith(PREFIX) !== true) {
    await request.iterator.return?.()
    return { kind: 'none' }
  }
  const refuse = async (reason: string): Promise<void> => {
    // The answer and our goodbye reach the client before we stop reading (which ends the connection).
    await stream.sink([line(`${REFUSED}${reason}`)])
    await request.iterator.return?.()
  }
  let target: HostPort
  try {
    target = parseHostPort(request.text.slice(PREFIX.length), undefined, 'the requested target')
  } catch (err) {
    if (!(err instanceof CliError)) throw err
    await refuse(err.message)
    return { kind: 'refused', reason: err.message }
  }
  if (!permitted.some((allowed) => sameTarget(allowed, target))) {
    const reason = `${formatHostPort(target)} is not among its --permit-open targets (${permitted.map(formatHostPort).join(', ')})`
    await refuse(reason)
    return { kind: 'refused', reason }
  }
  return {
    kind: 'request',
    target,
    refuse,
    stream: {
      remotePublicKey: stream.remotePublicKey,
      source: resumed(request),
      sink: async (bytes) => { await stream.sink(prepended(line(OK), bytes)) },
      abort: (reason) => { stream.abort(reason) },
      ...rekeyOf(stream)
    }
  }
}

/** The wrapped stream's rekey extension, passed through (its counters read live). */
function rekeyOf (stream: SecureStream): Pick<SecureStream, 'rekeying' | 'rekeys' | 'rekey'> {
  return {
    rekeying: stream.rekeying,
    get rekeys () { return stream.rekeys },
    rekey: async () => { await stream.rekey() }
  }
}

function sameTarget (a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.host.toLowerCase() === b.host.toLowerCase()
}
