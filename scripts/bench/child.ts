/**
 * A bench peer in its own process (scripts/bench/peer.ts, same Node, `--expose-gc`), which reports
 * over IPC. On two cores the peer gets one, the bench the other. Every child is killed after
 * LIFETIME_MS at the latest, so no failure leaves one behind.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export type Message = Readonly<Record<string, number | string>>

export interface Child {
  /** The next message the child sends; rejects if it exits first. */
  next (): Promise<Message>
  /** Sends the child a message over IPC (the scale peers take orders this way). */
  send (message: Message): void
  /** Asks the child to finish (it closes what it holds), kills it after a grace period. */
  stop (): Promise<void>
}

const LIFETIME_MS = 300_000
const EXIT_GRACE_MS = 5000
const PEER = fileURLToPath(new URL('./peer.ts', import.meta.url))

export function startChild (args: readonly string[], script = PEER): Child {
  const child: ChildProcess = fork(script, [...args], { execArgv: [...process.execArgv, '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const inbox: Message[] = []
  const waiting: Array<{ resolve: (message: Message) => void, reject: (err: Error) => void }> = []
  let exitError: Error | undefined
  const kill = setTimeout(() => { child.kill('SIGKILL') }, LIFETIME_MS)
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(kill)
      exitError = new Error(`bench peer ${args.join(' ')} exited (${signal ?? `code ${String(code)}`})`)
      for (const waiter of waiting.splice(0)) waiter.reject(exitError)
      resolve()
    })
  })
  child.on('message', (message: Message) => {
    const waiter = waiting.shift()
    if (waiter === undefined) inbox.push(message)
    else waiter.resolve(message)
  })
  return {
    async next () {
      const message = inbox.shift()
      if (message !== undefined) return message
      if (exitError !== undefined) throw exitError
      return await new Promise<Message>((resolve, reject) => waiting.push({ resolve, reject }))
    },
    send (message) { child.send(message) },
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const timer = setTimeout(() => { child.kill('SIGKILL') }, EXIT_GRACE_MS)
      if (child.connected) child.disconnect()
      await exited
      clearTimeout(timer)
    }
  }
}
