/**
 * The independent SHS peers of ../shared/peers as echo servers on loopback: each is built into a
 * temporary folder with its own build.sh, started with `server -listen 127.0.0.1:0`, and known
 * by the "LISTEN host:port PUB key" line it prints first (the peers' shared command line).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
const START_LIMIT_MS = 15_000
const STOP_LIMIT_MS = 5_000

export const PEERS = ['go-secretstream', 'python-ssb', 'shs1-c'] as const
export type PeerName = typeof PEERS[number]

/** ../shared next to the checkout, or two levels up from a git worktree; SHS_SHARED overrides. */
export function sharedPeersDir (): string {
  const candidates = [process.env.SHS_SHARED, join(ROOT, '..', 'shared'), join(ROOT, '..', '..', 'shared')]
  const found = candidates.find((dir) => dir !== undefined && existsSync(join(dir, 'peers', 'go-secretstream', 'build.sh')))
  if (found === undefined) throw new Error(`no ../shared/peers (looked in ${candidates.filter(Boolean).join(', ')}); set SHS_SHARED`)
  return join(found, 'peers')
}

/** Builds every peer (in parallel) into one temporary folder; `remove` deletes it. */
export async function buildPeers (): Promise<{ programs: Record<PeerName, string>, remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'shs-peers-'))
  const remove = async (): Promise<void> => { await rm(dir, { recursive: true, force: true }) }
  try {
    const peers = sharedPeersDir()
    const built = await Promise.all(PEERS.map(async (name) => {
      const { stdout } = await run(join(peers, name, 'build.sh'), [join(dir, name)], { maxBuffer: 1 << 20 })
      return [name, stdout.trim().split('\n').at(-1) ?? ''] as const
    }))
    return { programs: Object.fromEntries(built) as Record<PeerName, string>, remove }
  } catch (err) {
    await remove()
    throw err
  }
}

export interface PeerServer {
  readonly port: number
  readonly publicKey: Uint8Array
  stop: () => Promise<void>
}

/** `program server -listen 127.0.0.1:0 -netkey K -secret S ...extra`, once it has said where it listens. */
export async function startPeerServer (program: string, networkKey: Uint8Array, secretKey: Uint8Array, extra: readonly string[] = []): Promise<PeerServer> {
  const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
  const child: ChildProcess = spawn(program, ['server', '-listen', '127.0.0.1:0', '-netkey', b64(networkKey), '-secret', b64(secretKey), ...extra], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000) })
  const exited = new Promise<void>((resolve) => { child.once('close', () => { resolve() }) })
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const killed = setTimeout(() => { child.kill('SIGKILL') }, STOP_LIMIT_MS)
    await exited
    clearTimeout(killed)
  }
  let timer: NodeJS.Timeout | undefined
  try {
    const line = await new Promise<string>((resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`${program} said nothing in ${START_LIMIT_MS} ms: ${stderr}`)) }, START_LIMIT_MS)
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        const listening = /^LISTEN \S+:(\d+) PUB (\S+)$/m.exec(stdout)
        if (listening !== null) resolve(listening[0])
      })
      void exited.then(() => { reject(new Error(`${program} ended before listening: ${stderr}`)) })
    })
    const [, port, key] = /:(\d+) PUB (\S+)$/.exec(line) as RegExpExecArray
    return { port: Number(port), publicKey: new Uint8Array(Buffer.from(key as string, 'base64')), stop }
  } catch (err) {
    await stop()
    throw err
  } finally {
    clearTimeout(timer)
  }
}
