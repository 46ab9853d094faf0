/**
 * The apps of test/fixtures/ssb-app.cjs, in this process or in one of their own (ssb-child.cjs):
 * ours, where the reference secret-handshake cannot load, or a stock one that a test can kill.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, toSsbKeys } from '../../src/index.ts'
import { freePort } from '../helpers/resources.ts'

const require = createRequire(import.meta.url)
const { createApp } = require('../fixtures/ssb-app.cjs')

const CHILD = fileURLToPath(new URL('../fixtures/ssb-child.cjs', import.meta.url))
export const CAPS = Buffer.alloc(32, 42).toString('base64')

export type Version = 6 | 7 | 8

/** The parts of a secret-stack app the tests use. */
export interface InProcessApp {
  id: string
  getAddress (scope: string): string
  close (force: boolean, cb: () => void): void
  once (event: string, cb: () => void): void
  connect (address: string, cb: (err: Error | null, rpc: Record<string, unknown>) => void): void
}

/** What createApp() needs besides the plugin: keys, caps, and free loopback ports for net: and ws:. */
export async function appConfig (version: Version, keys = generateKeyPair(), caps = CAPS, refused: string[] = []): Promise<Record<string, unknown>> {
  return { version, keys: toSsbKeys(keys), caps, netPort: await freePort(), wsPort: await freePort(), refused }
}

/** An app here, with `shs` as its shs plugin, once it listens. */
export async function startInProcess (config: Record<string, unknown>, shs: unknown): Promise<InProcessApp> {
  const app = createApp({ ...config, shs }) as InProcessApp
  await new Promise<void>((resolve) => { app.once('multiserver:listening', resolve) })
  return app
}

export async function closeInProcess (app: InProcessApp): Promise<void> {
  await new Promise<void>((resolve) => { app.close(true, resolve) })
}

/** The `net:` or `ws:` alternative of an app's address. */
export function pick (address: string, transport: 'net' | 'ws'): string {
  const found = address.split(';').find((alternative) => alternative.startsWith(transport === 'net' ? 'net:' : 'ws:'))
  assert.ok(found !== undefined, `${address} has a ${transport} alternative`)
  return found
}

export interface Started { blocked: boolean, id: string, publicKey: string, shs: string | undefined, address: string }

export class AppProcess {
  readonly child: ChildProcess
  started!: Started

  /** `cjs` or `esm`: our plugin, loaded that way; `stock`: the stock plugin of the config's version. */
  constructor (plugin: 'cjs' | 'esm' | 'stock') {
    this.child = fork(CHILD, [plugin], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  }

  async start (config: Record<string, unknown>): Promise<Started> {
    this.child.send({ config })
    const reply = await this.reply() as { started?: Started, error?: { message: string } }
    if (reply.started === undefined) throw new Error(`the app did not start: ${reply.error?.message ?? 'no reason given'}`)
    this.started = reply.started
    return this.started
  }

  /** Sends `{ [name]: args }` and resolves with the reply's result; an error reply rejects with its message and address. */
  async call (name: string, args: unknown): Promise<unknown> {
    this.child.send({ [name]: args })
    const reply = await this.reply() as { result?: unknown, error?: { message: string, address?: string } }
    if (reply.error !== undefined) throw Object.assign(new Error(reply.error.message), { address: reply.error.address })
    return reply.result
  }

  get exited (): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null
  }

  async close (): Promise<void> {
    if (this.exited) return
    const exit = once(this.child, 'exit')
    if (this.child.connected) this.child.send({ close: true })
    await exit
  }

  /** Gone at once, as a crash: its sockets close without goodbye. */
  async kill (): Promise<void> {
    if (this.exited) return
    const exit = once(this.child, 'exit')
    this.child.kill('SIGKILL')
    await exit
  }

  private async reply (): Promise<unknown> {
    const [message] = await Promise.race([once(this.child, 'message'), once(this.child, 'exit').then(() => { throw new Error('the app exited') })])
    return message
  }
}
