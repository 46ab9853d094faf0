/**
 * The server role: we play clients (correct, mistaken, hostile) against the server under test.
 * Every check is followed by a liveness probe, a valid handshake: a server that no longer
 * completes one fails the check; a server we started that exited is started again.
 */
import { randomBytes } from 'node:crypto'
import { SSB_NETWORK_KEY } from '../constants.ts'
import { type KeyPair, asKeyPair, asNetworkKey, generateKeyPair } from '../crypto/keys.ts'
import { NETWORK_KEY_BYTES } from '../crypto/primitives.ts'
import { type ShsEndpoint, parseEndpoints } from '../ssb/endpoint.ts'
import { allChecks, selectChecks } from './catalog.ts'
import { type CheckDefinition, type RekeyOffer, type ServerRoleContext, fail, skip } from './check.ts'
import { KeysFolder } from './environment.ts'
import { CheckFailure, PeerConnectError } from './errors.ts'
import { serverNotices } from './notices.ts'
import { type ServerCheckOptions, checkCommand, resolveLimits, resolveStartTimeout } from './options.ts'
import { PacketSealer } from './packet-sealer.ts'
import { handshakeAsClient } from './play.ts'
import { isRekeyCheck, probeServer } from './rekey-play.ts'
import { buildReport } from './report.ts'
import { type RoleRunner, runChecks, withinBudget } from './run.ts'
import { CommandTarget, type ServerTarget, addressTarget } from './server-target.ts'
import type { ConformanceReport, Limits, Verdict } from './types.ts'
import type { RawConnection } from './wire/connection.ts'

/** Event-loop turns that let a server's stderr, written before its last reply, reach us before the next check. */
const SETTLE_TURNS = 2

async function turns (count: number): Promise<void> {
  for (let turn = 0; turn < count; turn++) await new Promise((resolve) => { setImmediate(resolve) })
}

/** What a refused connection means, once the server had accepted others. */
export interface Stopped {
  readonly during: string
  readonly opened: number
}

class ServerRunner implements RoleRunner {
  readonly role = 'server' as const
  readonly subject = 'the server process'
  readonly crashes
  readonly #target: ServerTarget
  readonly #context: Omit<ServerRoleContext, 'open' | 'rekeyOffer'>
  #rekeyOffer: RekeyOffer = { offered: false, seen: 'not probed: no rekey check runs' }
  #stopped: Stopped | undefined
  /** Crash reports before this mark came before the first check (while we saw that it listens). */
  firstMark = 0
  /** Those from firstMark to this one came while we asked whether it offers the rekey extension. */
  probeMark = 0

  constructor (target: ServerTarget, keys: KeyPair, networkKey: Uint8Array, limits: Limits) {
    this.#target = target
    this.crashes = target.crashes
    this.#context = { ...limits, keys, networkKey, serverKey: target.serverKey }
  }

  get stopped (): Stopped | undefined {
    return this.#stopped
  }

  /**
   * The first connection tells whether the server is there at all (a failure ends the run); it
   * is a whole valid handshake, as a connection closed unused looks like a client hanging up.
   */
  async begin (probeRekey: boolean): Promise<void> {
    const dead = await this.#liveness()
    if (dead?.refused === true) throw new PeerConnectError(`${dead.connectError}: check the address and that the server runs`)
    await this.settle()
    this.firstMark = this.crashes.mark()
    if (probeRekey) await this.#probeRekey()
    this.probeMark = this.crashes.mark()
  }

  /** One connection for the whole run: a server without the extension refuses it as a hello of another network. */
  async #probeRekey (): Promise<void> {
    let connection: RawConnection
    try {
      connection = await this.#target.open(this.#context.replyTimeout)
    } catch (err) {
      if (!(err instanceof PeerConnectError)) throw err
      this.#rekeyOffer = { offered: false, seen: `the connection for the probe was refused (${err.message})` }
      return
    }
    try {
      this.#rekeyOffer = await probeServer(this.#context, connection)
    } finally {
      connection.close()
    }
    await this.settle()
    await this.#target.ensureRunning()
  }

  get rekeyOffer (): RekeyOffer {
    return this.#rekeyOffer
  }

  async run (check: CheckDefinition, budget: number): Promise<Verdict> {
    if (this.#stopped !== undefined) return skip(`not run: the server stopped accepting connections during ${this.#stopped.during}`)
    await this.#target.ensureRunning()
    const body = check.server as (context: ServerRoleContext) => Promise<Verdict>
    const connections = new Set<RawConnection>()
    const closeAll = (): void => { for (const connection of connections) connection.close() }
    const context: ServerRoleContext = {
      ...this.#context,
      rekeyOffer: this.#rekeyOffer,
      open: async () => {
        const connection = await this.#target.open(this.#context.replyTimeout)
        connections.add(connection)
        return connection
      }
    }
    let verdict: Verdict
    try {
      verdict = await withinBudget(budget, async () => await body(context), closeAll)
    } catch (err) {
      if (!(err instanceof PeerConnectError)) throw err
      verdict = fail(`${err.message}: the server stopped accepting connections`)
      await this.#refused(check)
    } finally {
      closeAll()
    }
    if (this.#stopped !== undefined) return verdict
    const dead = await this.#liveness()
    if (dead === undefined) return verdict
    // A server we started that stopped answering may be dying: its exit belongs to this check.
    await this.#target.waitForExit(this.#context.replyTimeout)
    await this.settle()
    if (dead.refused) await this.#refused(check)
    return fail(verdict.status === 'fail' ? `${dead.reason}; the check itself: ${verdict.reason}` : `${dead.reason} after this check`)
  }

  async settle (): Promise<void> {
    if (this.#target.started) await turns(SETTLE_TURNS)
  }

  /** A server at an address that refuses a connection twice has stopped serving: the run ends there. */
  async #refused (check: CheckDefinition): Promise<void> {
    if (this.#target.started || this.#stopped !== undefined) return
    try {
      (await this.#target.open(this.#context.replyTimeout)).close()
    } catch (err) {
      if (!(err instanceof PeerConnectError)) throw err
      this.#stopped = { during: check.id, opened: this.#target.opened }
    }
  }

  /** A valid handshake; undefined if it completed, else what went wrong. */
  async #liveness (): Promise<{ reason: string, refused: boolean, connectError?: string } | undefined> {
    let connection: RawConnection
    try {
      connection = await this.#target.open(this.#context.replyTimeout)
    } catch (err) {
      if (!(err instanceof PeerConnectError)) throw err
      return { reason: `the server no longer accepts connections (${err.message})`, refused: true, connectError: err.message }
    }
    try {
      const { session } = await handshakeAsClient(this.#context, connection)
      connection.write(new PacketSealer(session).goodbye())
      return undefined
    } catch (err) {
      if (!(err instanceof CheckFailure)) throw err
      return { reason: `the server no longer completes a valid handshake (${err.message})`, refused: false }
    } finally {
      connection.close()
    }
  }
}

function firstEndpoint (address: string): ShsEndpoint {
  const endpoints = parseEndpoints(address)
  return endpoints[0] as ShsEndpoint
}

interface Opened {
  readonly target: ServerTarget
  readonly keys: KeyPair
  readonly networkKey: Uint8Array
}

async function openTarget (options: ServerCheckOptions, folder: KeysFolder | undefined): Promise<Opened> {
  if ('command' in options) {
    const command = checkCommand(options.command)
    const networkKey = options.networkKey === undefined ? randomBytes(NETWORK_KEY_BYTES) : asNetworkKey(options.networkKey)
    const target = await CommandTarget.start(command, generateKeyPair(), networkKey, folder as KeysFolder, {
      startTimeout: resolveStartTimeout(options), onStderr: options.onPeerStderr
    })
    return { target, keys: generateKeyPair(), networkKey }
  }
  const endpoint = typeof options.address === 'string' ? firstEndpoint(options.address) : options.address
  return {
    target: addressTarget(endpoint, options.ca),
    keys: options.keys === undefined ? generateKeyPair() : asKeyPair(options.keys),
    networkKey: asNetworkKey(options.networkKey ?? SSB_NETWORK_KEY)
  }
}

/**
 * Checks a server: at `address`, or started with `command`. Resolves with the report once every
 * check has its verdict; rejects with a ConformanceError when the server cannot be reached or
 * started at all, or `only`/`skip` name no check.
 */
export async function runServerChecks (options: ServerCheckOptions): Promise<ConformanceReport> {
  const limits = resolveLimits(options)
  const checks = selectChecks(allChecks(), options.only, options.skip)
  const folder = 'command' in options ? await KeysFolder.create() : undefined
  try {
    const { target, keys, networkKey } = await openTarget(options, folder)
    try {
      const runner = new ServerRunner(target, keys, networkKey, limits)
      await runner.begin(checks.some(isRekeyCheck))
      options.onStart?.(target.label)
      const results = await runChecks(checks, runner, limits, options.onResult ?? (() => {}))
      return buildReport('server', target.label, results, serverNotices(target, runner, results))
    } finally {
      await target.close()
    }
  } finally {
    await folder?.remove()
  }
}
