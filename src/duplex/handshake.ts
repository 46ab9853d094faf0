/**
 * SHS1 over any it-pipe duplex (`{ source, sink, abort? }`): the handshake through the shared
 * driver, then the secure stream over the same duplex (./transport.ts).
 */
import { InvalidOptionError } from '../errors.ts'
import { SecretHandshake } from '../handshake/machine.ts'
import { checkRekeyOption } from '../handshake/rekey-options.ts'
import { checkCallback, checkOptions, checkSignal, checkTimeout, describeValue } from '../options.ts'
import type { Deadline } from '../driver/deadline.ts'
import { type HandshakeTransport, acceptEveryone, runHandshake, withDeadline } from '../driver/handshake.ts'
import { checkOneShotClientRekey, withRekeyFallback } from '../driver/rekey-fallback.ts'
import type {
  Authorize, ByteDuplex, ClientHandshakeOptions, HandshakeProgress, SecureStream, ServerHandshakeOptions
} from '../driver/types.ts'
import { ByteReader } from './reader.ts'
import { Outbound, createSecureStream } from './transport.ts'

/**
 * Runs the client side of SHS1 over `duplex`; resolves with the secure stream once the server
 * accepted us. `rekey` may be `'require'` (or an object with that mode), not `'prefer'`: a
 * client cannot fall back to SHS1 on a duplex it cannot reopen (docs/REKEY.md, "Where it is available").
 */
export async function clientHandshake (duplex: ByteDuplex, options: ClientHandshakeOptions): Promise<SecureStream> {
  const { keys, networkKey, remotePublicKey } = checkOptions(options)
  const checked = checkHandshakeOptions(duplex, options)
  const rekey = checkOneShotClientRekey(options.rekey, 'rekey', 'clientHandshake()')
  const init = { keys, networkKey, remotePublicKey, earlyData: options.earlyData }
  const machine = SecretHandshake.client({ ...init, rekey })
  // Under 'require' (the only mode here) a hang-up after our hello, or no answer to it, becomes
  // ERR_SHS_REKEY_REQUIRED; the plain machine is never asked for.
  return await withDeadline(checked, async (deadline) => await withRekeyFallback(rekey, checked.timeout, machine, () => SecretHandshake.client(init),
    async (attempt, helloWait) => await secureDuplex(duplex, attempt, deadline, acceptEveryone, checked.onProgress, helloWait)))
}

/** Runs the server side of SHS1 over `duplex`; resolves once the client proved its key and was authorized. */
export async function serverHandshake (duplex: ByteDuplex, options: ServerHandshakeOptions): Promise<SecureStream> {
  const { keys, networkKey } = checkOptions(options)
  const checked = checkHandshakeOptions(duplex, options)
  const authorize = checkCallback(options.authorize, 'authorize') ?? acceptEveryone
  const rekey = checkRekeyOption(options.rekey)
  const machine = SecretHandshake.server({ keys, networkKey, rekey })
  return await withDeadline(checked, async (deadline) => await secureDuplex(duplex, machine, deadline, authorize, checked.onProgress))
}

/** The options both handshakes over a duplex take, checked before anything is read or written. */
interface CheckedHandshakeOptions {
  timeout: number
  signal: AbortSignal | undefined
  onProgress: ((progress: HandshakeProgress) => void) | undefined
}

function checkHandshakeOptions (duplex: unknown, options: ClientHandshakeOptions | ServerHandshakeOptions): CheckedHandshakeOptions {
  checkDuplex(duplex)
  return {
    timeout: checkTimeout(options.timeout),
    signal: checkSignal(options.signal),
    onProgress: checkCallback(options.onHandshakeProgress, 'onHandshakeProgress')
  }
}

/** An it-pipe duplex: a `source` to iterate and a `sink` function (and, optionally, `abort`). */
export function checkDuplex (duplex: unknown): asserts duplex is ByteDuplex {
  const candidate = duplex as Partial<ByteDuplex> | null | undefined
  const source = candidate?.source as object | undefined
  const iterable = typeof source === 'object' && source !== null && (Symbol.asyncIterator in source || Symbol.iterator in source)
  if (typeof duplex !== 'object' || duplex === null || !iterable || typeof candidate?.sink !== 'function' ||
      (candidate.abort !== undefined && typeof candidate.abort !== 'function')) {
    throw new InvalidOptionError('duplex', 'the duplex must be an it-pipe duplex: { source: an (async) iterable of bytes, ' +
      `sink: a function taking one, abort?: a function }, got ${describeValue(duplex)}`)
  }
}

/** The handshake over an it-pipe duplex, then the box stream over the same duplex. */
export async function secureDuplex (
  duplex: ByteDuplex,
  machine: SecretHandshake,
  deadline: Deadline,
  authorize?: Authorize,
  onProgress?: (progress: HandshakeProgress) => void,
  helloWait?: number
): Promise<SecureStream> {
  const reader = new ByteReader(duplex.source)
  const outbound = new Outbound(duplex)
  const transport: HandshakeTransport = {
    read: async (length) => await reader.read(length),
    write: (bytes) => { void outbound.push(bytes) },
    abort: (error) => {
      outbound.end()
      reader.close()
      duplex.abort?.(error)
    }
  }
  const session = await runHandshake(transport, machine, deadline, authorize, onProgress, helloWait)
  return createSecureStream(duplex, reader, outbound, session)
}
