/** What a check is inside the suite: a body per role, and the context each role's body gets. */
import type { KeyPair } from '../crypto/keys.ts'
import type { PeerProcess } from './process.ts'
import type { Limits, Verdict } from './types.ts'
import type { RawConnection } from './wire/connection.ts'

/** Whether the server answered a hello under K' (found once per run, before the checks). */
export interface RekeyOffer {
  readonly offered: boolean
  /** What the probe saw, in words. */
  readonly seen: string
}

/** Server role: we play clients against the server under test. */
export interface ServerRoleContext extends Limits {
  /** The long-term public key the server must prove it holds. */
  readonly serverKey: Uint8Array
  /** Our identity as a client. */
  readonly keys: KeyPair
  readonly networkKey: Uint8Array
  /** Whether the server answered a hello under K' (probed once per run when rekey checks run; docs/CONFORMANCE.md). */
  readonly rekeyOffer: RekeyOffer
  /** A fresh connection to the server, closed when the check ends; a failure to connect fails the check. */
  open: () => Promise<RawConnection>
}

export interface ClientRun {
  /** The connection the client under test opened to us. */
  readonly connection: RawConnection
  readonly process: PeerProcess
}

export interface LaunchOptions {
  /** What the client reads on stdin: bytes then end of input, or `'open'` to hold it open until the check feeds it. */
  readonly stdin: Uint8Array | 'open'
  /**
   * The check plays a server with the rekey extension. Without it we are a stock SHS1 server: a
   * client that asks for the extension (a hello under K') is hung up on, and its retry with
   * plain SHS1, the next connection, is the one the check gets (docs/REKEY.md, "Negotiation").
   */
  readonly extension?: boolean
}

/** Client role: we play servers for the client under test, started once per connection. */
export interface ClientRoleContext extends Limits {
  /** Our identity as the server; the client was told this key. */
  readonly keys: KeyPair
  /** The identity the client was given (SHS_CONFORMANCE_SECRET). */
  readonly clientKeys: KeyPair
  readonly networkKey: Uint8Array
  /** Starts the client; resolves once it connected to us. Stopped when the check ends. */
  launch: (options: LaunchOptions) => Promise<ClientRun>
}

export interface CheckDefinition {
  readonly id: string
  /** "the peer must ...", one line. */
  readonly title: string
  /** We send bad or hostile input. */
  readonly hostile: boolean
  /** Mostly waiting (the stall checks): run side by side with the other slow ones. */
  readonly slow?: boolean
  /** The body, or why the check does not apply to that role. */
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

export function crash (reason: string): Verdict {
  return { status: 'crash', reason }
}

export function skip (reason: string): Verdict {
  return { status: 'skip', reason }
}
