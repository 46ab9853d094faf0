/** The vocabulary of the conformance tool: roles, checks, verdicts and results. */
import type { KeyPair } from '../../index.ts'
import type { RemoteAddress } from '../address.ts'
import type { RawConnection } from './raw-connection.ts'
import type { ClientProcess } from './process.ts'

/** The role of the implementation under test. */
export type Role = 'server' | 'client'

export type CheckStatus = 'pass' | 'fail' | 'skip' | 'warn'

export interface Verdict {
  readonly status: CheckStatus
  readonly reason: string
}

export interface CheckResult extends Verdict {
  readonly id: string
  readonly title: string
  /** How long the check took (with its liveness probe), in milliseconds. */
  readonly ms: number
}

export interface Limits {
  /** How long to wait for each reply, for a hang-up after a bad message, or for a client to exit. */
  readonly replyTimeout: number
  /** The longest a peer may keep a stalled handshake before the stall checks fail it. */
  readonly stallLimit: number
}

/** Server role: we play clients against the server under test. */
export interface ServerRoleContext extends Limits {
  readonly target: RemoteAddress
  /** Our identity as a client. */
  readonly keys: KeyPair
  readonly networkKey: Uint8Array
  /** A fresh TCP connection to the server; a failure to connect becomes the check's failure. */
  open: () => Promise<RawConnection>
}

export interface ClientRun {
  /** The connection the client under test opened to us. */
  readonly connection: RawConnection
  readonly process: ClientProcess
}

export interface LaunchOptions {
  /** What the client reads on stdin: bytes then end of input, or `'open'` to hold it open until the check feeds it. */
  readonly stdin: Uint8Array | 'open'
}

/** Client role: we play servers for the client under test, started once per connection. */
export interface ClientRoleContext extends Limits {
  /** Our identity as the server; the client was told this key. */
  readonly keys: KeyPair
  /** The identity the client was given (SHS_CONFORMANCE_SECRET); informative only. */
  readonly clientKeys: KeyPair
  readonly networkKey: Uint8Array
  /** Starts the client; resolves once it connected to us. */
  launch: (options: LaunchOptions) => Promise<ClientRun>
}

export interface CheckDefinition {
  readonly id: string
  /** "the peer must ...", one line. */
  readonly title: string
  /** Hostile checks are followed by a liveness probe: the peer must still complete a handshake. */
  readonly hostile: boolean
  /** Mostly waiting (the stall checks): run alongside the others. */
  readonly slow?: boolean
  readonly server: ((context: ServerRoleContext) => Promise<Verdict>) | string
  readonly client: ((context: ClientRoleContext) => Promise<Verdict>) | string
}

export function pass (reason: string): Verdict {
  return { status: 'pass', reason }
}

export function fail (reason: string): Verdict {
  return { status: 'fail', reason }
}

export function warn (reason: string): Verdict {
  return { status: 'warn', reason }
}

/** A check could not go on: its message is the verdict (a failure). */
export class CheckFailure extends Error {}
