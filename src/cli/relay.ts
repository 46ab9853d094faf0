/**
 * What a server does with each secure stream it accepts besides stdio: run a command on it
 * (`--exec`) or carry it to a TCP service (`--forward`, or `--permit-open` where the client names
 * it: the far end of a tunnel).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import type net from 'node:net'
import type { Readable, Writable } from 'node:stream'
import { ConnectionError, type SecureStream, openTcpSocket } from '../index.ts'
import { type HostPort, formatHostPort } from './address.ts'
import { acceptForward } from './forward-request.ts'
import { formatId } from './identity.ts'
import type { Log } from './log.ts'
import { join } from './pipe.ts'
import type { Progress } from './progress.ts'
import { describeRekeys } from './rekey.ts'
import type { ConnectionInfo } from './secure-net.ts'
import { streamFailure } from './stdio.ts'

/** Environment variables an --exec command can read to learn who is on the other end. */
export const REMOTE_ID_ENV = 'SHS_REMOTE_ID'
export const REMOTE_ADDRESS_ENV = 'SHS_REMOTE_ADDRESS'

export interface RelayContext {
  log: Log
  progress: Progress
}

/**
 * Runs `command` in a shell with the stream on its stdin/stdout; stderr stays ours. The shell
 * leads a process group of its own, so `endCommand` reaches whatever it started too (a pipeline,
 * a background job): nothing outlives the server as an orphan.
 */
export async function relayToCommand (
  stream: SecureStream,
  connection: ConnectionInfo,
  command: string,
  children: Set<ChildProcess>,
  context: RelayContext
): Promise<void> {
  const { log } = context
  const child = spawn(command, {
    shell: true,
    stdio: ['pipe', 'pipe', 'inherit'],
    detached: true,
    env: { ...process.env, [REMOTE_ID_ENV]: formatId(stream.remotePublicKey), [REMOTE_ADDRESS_ENV]: connection.peer }
  })
  children.add(child)
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => { resolve(`could not start (${err.message})`) })
    child.once('close', (code, signal) => { resolve(signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`) })
  })
  const stdin = child.stdin
  const stdout = child.stdout
  if (stdin === null || stdout === null) throw new Error('spawn() with stdio pipes returned no pipes')
  await relay(stream, connection, stdout, stdin, context, () => {
    // The client is gone: give the command end-of-file rather than leaving it waiting.
    stdin.destroy()
  })
  const how = await exited
  children.delete(child)
  log.verbose(`${connection.label} the command ${how}`)
}

export interface TcpRelayContext extends RelayContext {
  connectTimeout: number
}

/**
 * Opens a new TCP connection to `target` and joins the stream to it. `refuse`, when the client
 * asked for `target`, tells it why the target could not be reached; otherwise it is dropped.
 */
export async function relayToTcp (
  stream: SecureStream,
  connection: ConnectionInfo,
  target: HostPort,
  context: TcpRelayContext,
  refuse?: (reason: string) => Promise<void>
): Promise<void> {
  const where = formatHostPort(target)
  let socket: net.Socket
  try {
    socket = await openPlainSocket(target, context.connectTimeout)
  } catch (err) {
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? String(err)
    context.log.info(`${connection.label} could not reach the ${refuse === undefined ? '--forward' : 'requested'} target ${where} (${code}): ` +
      'is the service running? dropping this connection')
    if (refuse === undefined) stream.abort()
    else {
      await refuse(`could not connect to ${where} (${code}): is the service running there?`).catch((failure: unknown) => {
        context.log.verbose(`${connection.label} could not tell the client: ${streamFailure(failure).message}`)
        stream.abort()
      })
    }
    return
  }
  context.log.verbose(`${connection.label} forwarding to ${where}`)
  await relay(stream, connection, socket, socket, context, () => { socket.destroy() })
}

/** `--permit-open`: reads which target the client asks for, and joins it there if that target is permitted. */
export async function relayOnRequest (
  stream: SecureStream,
  connection: ConnectionInfo,
  permitted: readonly HostPort[],
  context: TcpRelayContext
): Promise<void> {
  const { log } = context
  let request: Awaited<ReturnType<typeof acceptForward>>
  try {
    request = await acceptForward(stream, permitted)
  } catch (err) {
    log.info(`${connection.label} from ${connection.peer} ended before it named a target: ${streamFailure(err).message}`)
    stream.abort()
    return
  }
  switch (request.kind) {
    case 'none':
      log.info(`${connection.label} from ${connection.peer} named no target (shs connect -L [bind:]port needs a server ` +
        'with --forward HOST:PORT; with --permit-open it must be -L [bind:]port:host:hostport): dropped')
      return
    case 'refused':
      log.info(`${connection.label} from ${connection.peer} refused: ${request.reason}`)
      return
    case 'request':
      log.verbose(`${connection.label} asks for ${formatHostPort(request.target)}`)
      await relayToTcp(request.stream, connection, request.target, context, request.refuse)
  }
}

/** Sends SIGTERM to the command's whole process group; a group already gone is fine. */
export function endCommand (child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, 'SIGTERM')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/**
 * A TCP connection to `target` (the library's one TCP-connect helper), or a rejection if it is
 * not made within `timeout` ms (a ConnectionError whose cause has code ETIMEDOUT).
 */
export async function openPlainSocket (target: HostPort, timeout: number): Promise<net.Socket> {
  const { socket, connected } = openTcpSocket(target)
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      socket.destroy()
      const cause = Object.assign(new Error(`no connection within ${timeout} ms`), { code: 'ETIMEDOUT' })
      reject(new ConnectionError(`could not connect to ${formatHostPort(target)} within ${timeout} ms`, { cause }))
    }, timeout)
  })
  try {
    return await Promise.race([connected, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Joins one accepted stream and logs how it ended; a failed connection never stops the server. */
export async function relay (
  stream: SecureStream,
  connection: ConnectionInfo,
  input: Readable,
  output: Writable,
  context: RelayContext,
  onFailure: () => void
): Promise<void> {
  const { log, progress } = context
  progress.connectionOpened()
  try {
    await join(stream, input, output, {
      endOutput: true,
      traffic: progress,
      onOutputError: (err) => { log.verbose(`${connection.label} stopped delivering data: ${err.code ?? err.message}`) }
    })
    log.verbose(`${connection.label} closed cleanly`)
  } catch (err) {
    onFailure()
    log.info(`${connection.label} from ${connection.peer} ended badly: ${streamFailure(err).message}`)
  } finally {
    const rekeys = describeRekeys(stream)
    if (rekeys !== undefined) log.verbose(`${connection.label} ${rekeys}`)
    progress.connectionClosed()
  }
}
