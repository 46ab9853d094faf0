/**
 * Starts a bench peer in its own process (same Node binary, `--expose-gc` so it can measure its
 * own memory) and talks to it over IPC. Two cores: the peer gets one, the bench the other.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { EXIT_OP, type FromPeer, type Ready, type Reply } from './peers/protocol.ts'

export type PeerScript = 'server' | 'clients'

export interface Peer {
  readonly ready: Ready
  request (op: string, n?: number): Promise<Reply>
  exit (): Promise<void>
}

export interface PeerOptions {
  /** Open files the peer needs; when above the soft limit, the peer is started through `ulimit -n`. */
  readonly fdLimit?: number
  readonly softFdLimit?: number
}

/** How long a peer may take to exit cleanly before it is killed. */
const EXIT_GRACE_MS = 5000

export async function startPeer (script: PeerScript, args: readonly string[], options: PeerOptions = {}): Promise<Peer> {
  const modulePath = fileURLToPath(new URL(`./peers/${script}.ts`, import.meta.url))
  const nodeFlags = ['--expose-gc']
  const raise = options.fdLimit !== undefined && options.softFdLimit !== undefined && options.fdLimit > options.softFdLimit
  const child: ChildProcess = raise
    // fork() runs `execPath ...execArgv module ...args`: a shell raises the limit, then execs node with the rest.
    ? fork(modulePath, [...args], {
        execPath: '/bin/sh',
        execArgv: ['-c', `ulimit -n ${String(options.fdLimit)} && exec "$0" "$@"`, process.execPath, ...nodeFlags],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc']
      })
    : fork(modulePath, [...args], { execPath: process.execPath, execArgv: nodeFlags, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })

  const pending = new Map<number, { resolve: (reply: Reply) => void, reject: (err: Error) => void }>()
  let nextId = 0
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
  const ready = new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => {
      const error = new Error(`bench peer ${script} ${args.join(' ')} exited (code ${String(code)})`)
      reject(error)
      for (const waiter of pending.values()) waiter.reject(error)
      pending.clear()
    })
    child.on('message', (message: FromPeer) => {
      if (message.type === 'ready') { resolve(message); return }
      const waiter = pending.get(message.id)
      pending.delete(message.id)
      if (message.ok) waiter?.resolve(message.reply)
      else waiter?.reject(new Error(`bench peer ${script}: ${message.error}`))
    })
  })

  const request = async (op: string, n = 0): Promise<Reply> => {
    const id = nextId++
    return await new Promise<Reply>((resolve, reject) => {
      pending.set(id, { resolve, reject })
      child.send({ type: 'request', id, op, n })
    })
  }

  return {
    ready: await ready,
    request,
    async exit () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const timer = setTimeout(() => { child.kill('SIGKILL') }, EXIT_GRACE_MS)
      await request(EXIT_OP).catch(() => {})
      await exited
      clearTimeout(timer)
    }
  }
}
