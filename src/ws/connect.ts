/** WebSocket client: open `ws://` or `wss://`, run the client handshake over binary messages. */
import { X509Certificate } from 'node:crypto'
import { WebSocket } from 'ws'
import { ConnectionError, InvalidOptionError } from '../errors.ts'
import { SecretHandshake } from '../handshake/machine.ts'
import { checkRekeyOption } from '../handshake/rekey-options.ts'
import { withRekeyFallback } from '../driver/rekey-fallback.ts'
import { checkCallback, checkOptions, checkSignal, checkTimeout, describeValue } from '../options.ts'
import type { Deadline } from '../driver/deadline.ts'
import { acceptEveryone, runHandshake, withDeadline, wipingOnFailure } from '../driver/handshake.ts'
import type { ClientHandshakeOptions, SecureStream } from '../driver/types.ts'
import { MAX_MESSAGE_BYTES, type WebSocketOptions, checkWebSocketOptions, nodeWebSocketChannel } from './node-socket.ts'
import { checkWebSocketUrl } from './url.ts'

/** A PEM certificate: its text, or its bytes. */
export type Pem = string | Uint8Array

export interface WebSocketConnectOptions extends ClientHandshakeOptions, WebSocketOptions {
  /** `ws://HOST:PORT` or `wss://HOST:PORT` (the part of a multiserver address before `~shs:`). */
  url: string
  /** For `wss:`: certificate authorities to trust besides the system's (PEM), e.g. a self-signed server certificate. */
  ca?: Pem | Pem[]
}

/**
 * The timeout covers opening the WebSocket and the handshake together; with `rekey: 'prefer'`, a
 * server without the extension costs a second WebSocket within the same timeout.
 */
export async function connectWebSocket (options: WebSocketConnectOptions): Promise<SecureStream> {
  // Checked at the call, before the socket opens: a bad option never costs a connection.
  const { keys, networkKey, remotePublicKey } = checkOptions(options)
  const url = checkWebSocketUrl(options.url)
  const ca = checkCa(options.ca)
  const socketOptions = checkWebSocketOptions(options)
  const timeout = checkTimeout(options.timeout)
  const signal = checkSignal(options.signal)
  const onProgress = checkCallback(options.onHandshakeProgress, 'onHandshakeProgress')
  const init = { keys, networkKey, remotePublicKey, earlyData: options.earlyData }
  const rekey = checkRekeyOption(options.rekey)
  const first = SecretHandshake.client({ ...init, rekey })
  return await withDeadline({ timeout, signal }, async (deadline) => await withRekeyFallback(rekey, timeout, first, () => SecretHandshake.client(init),
    async (machine, helloWait) => await wipingOnFailure(machine, (async () => {
      const channel = nodeWebSocketChannel(await openSocket(url, ca, deadline), socketOptions)
      return channel.secure(await runHandshake(channel.handshake, machine, deadline, acceptEveryone, onProgress, helloWait))
    })())))
}

/** Each authority must be a PEM certificate: a typo would otherwise only show as an untrusted server. */
export function checkCa (ca: unknown): Pem[] | undefined {
  if (ca === undefined) return undefined
  const list = Array.isArray(ca) ? ca as unknown[] : [ca]
  for (const entry of list) {
    let parsed = false
    if (typeof entry === 'string' || entry instanceof Uint8Array) {
      try {
        parsed = new X509Certificate(entry).raw.byteLength > 0
      } catch {
        parsed = false
      }
    }
    if (!parsed) {
      throw new InvalidOptionError('ca', `ca must be a PEM certificate (or a list of them), as a string or bytes; got ${describeValue(entry)} that is not one`)
    }
  }
  return list as Pem[]
}

async function openSocket (url: string, ca: Pem[] | undefined, deadline: Deadline): Promise<WebSocket> {
  if (deadline.fired) throw deadline.error(`opening the WebSocket ${url}`)
  const socket = new WebSocket(url, { ca: ca as Array<string | Buffer> | undefined, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES })
  const opened = new Promise<WebSocket>((resolve, reject) => {
    const onError = (err: Error): void => {
      const code = (err as NodeJS.ErrnoException).code
      // A server that refuses a connection (busy, or its source has too many) hangs up at once.
      const hungUp = code === 'ECONNRESET' || err.message === 'socket hang up'
      reject(new ConnectionError(`could not open the WebSocket ${url} (${code ?? err.message}): ` + (hungUp
        ? 'the server hung up before the upgrade: it may be busy (try again later) or not a WebSocket server'
        : 'check the address, that the server runs, and for wss: that its certificate is trusted (ca)'), { cause: err }))
    }
    socket.once('open', () => { socket.off('error', onError); resolve(socket) })
    socket.once('error', onError)
  })
  try {
    return await deadline.race(opened, () => `opening the WebSocket ${url}`)
  } catch (err) {
    socket.on('error', ignoreReportedElsewhere)
    socket.terminate()
    throw err
  }
}

function ignoreReportedElsewhere (): void {}
