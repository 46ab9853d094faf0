/**
 * One error hierarchy for the whole library. Every failure a user can meet carries a stable
 * `code` (for programs) and a message that says what probably happened and what to check (for
 * people). Codes never change meaning; messages may be improved.
 */

export type ShsErrorCode =
  | 'ERR_SHS_INVALID_KEY'
  | 'ERR_SHS_WEAK_KEY'
  | 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO'
  | 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH'
  | 'ERR_SHS_CLIENT_HUNG_UP'
  | 'ERR_SHS_INVALID_HELLO'
  | 'ERR_SHS_INVALID_CLIENT_AUTH'
  | 'ERR_SHS_INVALID_SERVER_ACCEPT'
  | 'ERR_SHS_UNAUTHORIZED'
  | 'ERR_SHS_AUTHORIZE_FAILED'
  | 'ERR_SHS_HANDSHAKE_TIMEOUT'
  | 'ERR_SHS_ABORTED'
  | 'ERR_SHS_CONNECTION'
  | 'ERR_SHS_ACCEPT_FAILED'
  | 'ERR_SHS_BUSY'
  | 'ERR_SHS_SOURCE_BUSY'
  | 'ERR_SHS_PENALIZED'
  | 'ERR_SHS_TOO_MANY_CONNECTIONS'
  | 'ERR_SHS_IDLE_TIMEOUT'
  | 'ERR_SHS_INVALID_OPTION'
  | 'ERR_SHS_INVALID_STATE'
  | 'ERR_SHS_INVALID_ADDRESS'
  | 'ERR_SHS_ALL_ADDRESSES_FAILED'
  | 'ERR_SHS_CALLBACK_FAILED'
  | 'ERR_SHS_BAD_MUXER_MESSAGE'
  | 'ERR_SHS_REKEY_REQUIRED'
  | 'ERR_SHS_REKEY_NOT_NEGOTIATED'
  | 'ERR_BOX_STREAM_BAD_HEADER'
  | 'ERR_BOX_STREAM_BAD_BODY'
  | 'ERR_BOX_STREAM_BAD_LENGTH'
  | 'ERR_BOX_STREAM_TRUNCATED'
  | 'ERR_BOX_STREAM_AFTER_GOODBYE'
  | 'ERR_BOX_STREAM_CLOSED'
  | 'ERR_BOX_STREAM_BAD_CONTROL'
  | 'ERR_BOX_STREAM_REKEY_FLOOD'
  | 'ERR_BOX_STREAM_REKEY_TIMEOUT'

export class ShsError extends Error {
  readonly code: ShsErrorCode

  constructor (code: ShsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ShsError'
    this.code = code
  }
}

/** A key or network key of the wrong size or shape, or one that yields a weak DH result. */
export class InvalidKeyError extends ShsError {
  /** The option that held the key (`keys`, `networkKey`, `remotePublicKey`), when an option did. */
  readonly option: string | undefined

  constructor (message: string, code: 'ERR_SHS_INVALID_KEY' | 'ERR_SHS_WEAK_KEY' = 'ERR_SHS_INVALID_KEY', option?: string) {
    super(code, message)
    this.name = 'InvalidKeyError'
    this.option = option
  }
}

/** The secret handshake failed: the peer sent something invalid, hung up, or was refused. */
export class HandshakeError extends ShsError {
  constructor (code: ShsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'HandshakeError'
  }
}

export class HandshakeTimeoutError extends HandshakeError {
  readonly timeout: number

  constructor (timeout: number, stage: string) {
    super('ERR_SHS_HANDSHAKE_TIMEOUT',
      `the secret handshake did not finish within ${timeout} ms (stuck while ${stage}): ` +
      'the peer may be overloaded, not an SHS peer, or the network is dropping packets; ' +
      'check the address or raise the timeout option')
    this.name = 'HandshakeTimeoutError'
    this.timeout = timeout
  }
}

/** Named `AbortError` like the platform's, so code that checks `err.name` keeps working. */
export class AbortError extends ShsError {
  constructor (message = 'the operation was aborted by its AbortSignal', options?: { cause?: unknown }) {
    super('ERR_SHS_ABORTED', message, options)
    this.name = 'AbortError'
  }
}

/** A TCP-level failure: refused, reset, unreachable. */
export class ConnectionError extends ShsError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_SHS_CONNECTION', message, options)
    this.name = 'ConnectionError'
  }
}

/**
 * A server could not take connections: the process or the system is out of file descriptors or
 * memory. `errno` is the system's code (EMFILE, ENFILE, ENOMEM...).
 */
export class AcceptError extends ShsError {
  readonly errno: string

  constructor (errno: string, options?: { cause?: unknown }) {
    super('ERR_SHS_ACCEPT_FAILED', `the server cannot accept connections (${errno}): ${explainAcceptFailure(errno)}; ` +
      'connections arriving meanwhile are dropped unread, and the server serves again once resources free up', options)
    this.name = 'AcceptError'
    this.errno = errno
  }
}

function explainAcceptFailure (errno: string): string {
  switch (errno) {
    case 'EMFILE': return 'this process has no file descriptor left; raise its limit (ulimit -n) or lower maxConnections and maxPendingHandshakes'
    case 'ENFILE': return 'the system has no file descriptor left; raise fs.file-max or close other programs\' files'
    case 'ENOMEM': case 'ENOBUFS': return 'the system is out of memory for sockets'
    default: return 'the operating system refused to hand over a connection'
  }
}

/** The box stream was tampered with, cut off, or used after it ended. */
export class BoxStreamError extends ShsError {
  constructor (code: ShsErrorCode, message: string) {
    super(code, message)
    this.name = 'BoxStreamError'
  }
}

/** An option outside its allowed range, caught at the call that took it. */
export class InvalidOptionError extends ShsError {
  /** The option's name as the caller spelled it (`timeout`, `maxPendingHandshakes`). */
  readonly option: string

  constructor (option: string, message: string) {
    super('ERR_SHS_INVALID_OPTION', message)
    this.name = 'InvalidOptionError'
    this.option = option
  }
}

/** A callback the application gave us threw or rejected; `cause` is what it threw. */
export class CallbackError extends ShsError {
  /** The callback's option name: `onStream`, `authorize`, `onConnection`... */
  readonly callback: string

  constructor (callback: string, cause: unknown) {
    super('ERR_SHS_CALLBACK_FAILED', `the ${callback} callback threw or rejected (${describe(cause)}): ` +
      'that connection was closed and the server carries on; fix the callback', { cause })
    this.name = 'CallbackError'
    this.callback = callback
  }
}

/** An established connection that moved no byte either way for `idleTimeout` ms. */
export function idleTimeoutError (idleTimeout: number): ShsError {
  return new ShsError('ERR_SHS_IDLE_TIMEOUT', `the connection was closed after no byte moved either way for ${idleTimeout} ms (idleTimeout): ` +
    'the peer stalled or went away without a word; for long quiet links, send something now and then or raise idleTimeout')
}

function describe (value: unknown): string {
  return value instanceof Error ? value.message : String(value)
}
