/**
 * What each handshake failure most likely means, in words a user can act on. SHS1 gives a
 * refusing peer no way to say why (it just hangs up, docs/PROTOCOL.md, "The four messages"), so the stage
 * at which things stopped is the whole diagnosis.
 */
import { toString as bytesToString } from 'uint8arrays/to-string'
import { HandshakeError } from '../errors.ts'

export type MessageName = 'clientHello' | 'serverHello' | 'clientAuth' | 'serverAccept'
type Role = 'client' | 'server'

const INVALID: Readonly<Record<MessageName, { code: HandshakeError['code'], message: string }>> = {
  clientHello: {
    code: 'ERR_SHS_INVALID_HELLO',
    message: 'the client\'s hello (message 1) is not authenticated with our network key: ' +
      'the client uses a different network key, or does not speak SHS'
  },
  serverHello: {
    code: 'ERR_SHS_INVALID_HELLO',
    message: 'the server\'s hello (message 2) is not authenticated with our network key: ' +
      'the server uses a different network key, or does not speak SHS'
  },
  clientAuth: {
    code: 'ERR_SHS_INVALID_CLIENT_AUTH',
    message: 'the client\'s authentication (message 3) did not verify: the client dialled us ' +
      'expecting a different server public key, or the message was corrupted'
  },
  serverAccept: {
    code: 'ERR_SHS_INVALID_SERVER_ACCEPT',
    message: 'the server\'s acceptance (message 4) did not verify: the server does not hold the ' +
      'secret key of the public key we dialled, or the message was corrupted'
  }
}

export function describeFailure (message: MessageName): HandshakeError {
  const { code, message: text } = INVALID[message]
  return new HandshakeError(code, text)
}

export function describeHangUp (role: Role, waitingFor: MessageName | undefined, cause?: unknown): HandshakeError {
  const options = cause === undefined ? undefined : { cause }
  // What the transport itself said, where it said something (a reset, a ping never answered).
  const said = cause instanceof Error && cause.message !== '' ? ` (the transport reported: ${cause.message})` : ''
  if (role === 'server') {
    return new HandshakeError('ERR_SHS_CLIENT_HUNG_UP',
      `the client hung up during the handshake${waitingFor === undefined ? '' : ` (we were waiting for ${waitingFor})`}: ` +
      `it may have refused our hello (different network key), given up, or lost its connection${said}`, options)
  }
  if (waitingFor === 'serverHello') {
    return new HandshakeError('ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO',
      'the server hung up after our first message: wrong network key, not an SHS server, or the server ' +
      `is busy (try again); check the networkKey and the port${said}`, options)
  }
  return new HandshakeError('ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH',
    'the server hung up after our authentication (message 3): we dialled it with the wrong server ' +
    `public key, the server does not authorize our key, or it has too many connections open (try again later)${said}`, options)
}

export function describeRefusal (clientKey: Uint8Array, cause?: unknown): HandshakeError {
  const id = `@${bytesToString(clientKey, 'base64pad')}.ed25519`
  if (cause !== undefined) {
    return new HandshakeError('ERR_SHS_AUTHORIZE_FAILED',
      `the authorize hook threw while deciding on client ${id}, so the client was refused: ` +
      'see the cause', { cause })
  }
  return new HandshakeError('ERR_SHS_UNAUTHORIZED',
    `client ${id} proved its identity but the authorize hook refused it`)
}

/** A server with `rekey: 'require'` got a plain SHS1 hello. */
export function plainClientRefused (): HandshakeError {
  return new HandshakeError('ERR_SHS_REKEY_REQUIRED',
    'the client speaks plain SHS1 (its hello is MAC\'d with the network key itself), and this server requires ' +
    'the rekey extension (rekey: \'require\'): let the client ask for it, or accept SHS1 with rekey: \'prefer\'')
}

/** A client with `rekey: 'require'` was hung up on after message 1. */
export function rekeyRefused (cause: HandshakeError): HandshakeError {
  return new HandshakeError('ERR_SHS_REKEY_REQUIRED',
    'the server hung up after our hello, or never answered it, and that hello asked for the rekey extension (rekey: \'require\'): the server ' +
    'does not offer it (a plain SHS1 server) or uses another network key; ' +
    'use rekey: \'prefer\' to fall back to SHS1, or check the networkKey', { cause })
}
