/**
 * Admission control for handshakes, after OpenSSH's sshd (sshd_config(5): MaxStartups,
 * PerSourceMaxStartups, PerSourceNetBlockSize, PerSourcePenalties). Pure bookkeeping: no
 * sockets and no timers; the clock and the coin are passed in, so tests run on fake time.
 *
 * Before a server reads a byte it knows only the peer's address, and SHS lets it say nothing to
 * strangers, so a refusal is a hang-up. What we can do is keep any one source from holding more
 * than its share of the handshake slots, drop at random once the slots run low (so a flood from
 * many sources slows honest clients down instead of locking them out), and make sources whose
 * handshakes keep failing wait.
 */
import { HandshakeError, InvalidOptionError } from '../errors.ts'
import { checkGroup, describeValue, fractionOption, integerOption } from '../options.ts'
import { DEFAULT_SOURCE_PREFIXES, type SourcePrefixes, sourceOf } from './source.ts'

export interface PenaltyOptions {
  /** Milliseconds of penalty each failed handshake adds to its source (default 5 000). */
  perFailure?: number
  /** A source is refused once its penalty exceeds this, until the penalty has run out (default 15 000). */
  blockAbove?: number
  /** The most penalty a source can collect (default 600 000, ten minutes). */
  max?: number
  /** Sources remembered at most; the least recently penalized are forgotten first (default 4 096, ~200 bytes each). */
  maxSources?: number
}

export interface AdmissionOptions {
  /** Handshakes in progress at once, over all sources (default 256, ~10 KiB each). */
  maxPendingHandshakes?: number
  /**
   * From this many pending handshakes on, new connections are dropped at random: with
   * probability `earlyDropRate` here, rising linearly to 1 at `maxPendingHandshakes` (default:
   * three quarters of `maxPendingHandshakes`; set it equal to turn random drops off).
   */
  earlyDropFrom?: number
  /** Drop probability at `earlyDropFrom` (default 0.3, as sshd's MaxStartups 10:30:100). */
  earlyDropRate?: number
  /** Handshakes in progress at once from one source (default 8; Infinity turns the limit off). */
  maxPendingPerSource?: number
  /** Leading bits of an address that make one source: default `{ ipv4: 32, ipv6: 64 }`. */
  sourcePrefixes?: Partial<SourcePrefixes>
  /** Make sources whose handshakes keep failing wait (sshd's PerSourcePenalties); default off. */
  penalties?: boolean | PenaltyOptions
}

export const DEFAULT_MAX_PENDING_HANDSHAKES = 256
export const DEFAULT_MAX_PENDING_PER_SOURCE = 8
export const DEFAULT_EARLY_DROP_RATE = 0.3
/** Where random drops start, as a share of the hard limit. */
const DEFAULT_EARLY_DROP_SHARE = 0.75
const DEFAULT_PENALTY: Required<PenaltyOptions> = { perFailure: 5_000, blockAbove: 15_000, max: 600_000, maxSources: 4_096 }

export interface AdmissionEnvironment {
  /** Milliseconds on a monotonic clock (default `performance.now`). */
  now?: () => number
  /** A uniform number in [0, 1) (default `Math.random`; the drop is load shedding, not a secret). */
  random?: () => number
}

export type RefusalCode = 'ERR_SHS_BUSY' | 'ERR_SHS_SOURCE_BUSY' | 'ERR_SHS_PENALIZED'

/** One admitted handshake; release it exactly once, however the handshake ends (later calls do nothing). */
export interface AdmissionTicket {
  readonly source: string
  /** `failed` counts toward the source's penalty; `done` (completed, or ended by us) does not. */
  release (outcome: 'done' | 'failed'): void
}

interface Penalty {
  /** When the penalty collected so far runs out. */
  until: number
  /** Refused until `until`: the penalty went over the threshold. */
  blocked: boolean
}

export class Admission {
  readonly maxPending: number
  readonly earlyDropFrom: number
  readonly earlyDropRate: number
  readonly maxPerSource: number
  readonly #prefixes: SourcePrefixes
  readonly #penalty: Required<PenaltyOptions> | undefined
  readonly #now: () => number
  readonly #random: () => number
  /** Pending handshakes per source; a source is here only while it has some, so at most `maxPending` entries. */
  readonly #perSource = new Map<string, number>()
  /** Penalized sources in the order they were last penalized; at most `maxSources` entries. */
  readonly #penalties = new Map<string, Penalty>()
  #pending = 0

  constructor (options: AdmissionOptions = {}, environment: AdmissionEnvironment = {}) {
    this.maxPending = integerOption('maxPendingHandshakes', options.maxPendingHandshakes, DEFAULT_MAX_PENDING_HANDSHAKES, { min: 1 })
    this.earlyDropFrom = integerOption('earlyDropFrom', options.earlyDropFrom,
      Math.max(1, Math.floor(this.maxPending * DEFAULT_EARLY_DROP_SHARE)), { min: 1, max: this.maxPending })
    this.earlyDropRate = fractionOption('earlyDropRate', options.earlyDropRate, DEFAULT_EARLY_DROP_RATE)
    this.maxPerSource = integerOption('maxPendingPerSource', options.maxPendingPerSource, DEFAULT_MAX_PENDING_PER_SOURCE, { min: 1, unlimited: true })
    const prefixes = checkGroup(options.sourcePrefixes, 'sourcePrefixes')
    this.#prefixes = {
      ipv4: integerOption('sourcePrefixes.ipv4', prefixes?.ipv4, DEFAULT_SOURCE_PREFIXES.ipv4, { min: 0, max: 32 }),
      ipv6: integerOption('sourcePrefixes.ipv6', prefixes?.ipv6, DEFAULT_SOURCE_PREFIXES.ipv6, { min: 0, max: 128 })
    }
    this.#penalty = penaltySettings(options.penalties)
    this.#now = environment.now ?? (() => performance.now())
    this.#random = environment.random ?? Math.random
  }

  /** Handshakes admitted and not yet released. */
  get pending (): number {
    return this.#pending
  }

  /** Sources tracked now (pending or penalized): bounded by `maxPending + penalties.maxSources`. */
  get trackedSources (): number {
    return this.#perSource.size + this.#penalties.size
  }

  /** Decides on a new connection from `address`: a ticket to run its handshake, or the refusal to report. */
  admit (address: string): AdmissionTicket | HandshakeError {
    const source = sourceOf(address, this.#prefixes)
    const penalty = this.#currentPenalty(source)
    if (penalty?.blocked === true) {
      return refuse('ERR_SHS_PENALIZED', address, `its handshakes kept failing, so it is refused for another ${Math.ceil((penalty.until - this.#now()) / 1000)} s`)
    }
    const fromSource = this.#perSource.get(source) ?? 0
    if (fromSource >= this.maxPerSource) {
      return refuse('ERR_SHS_SOURCE_BUSY', address, `${fromSource} handshakes from ${source} are already in progress (the per-source limit, maxPendingPerSource)`)
    }
    if (this.#pending >= this.maxPending) {
      return refuse('ERR_SHS_BUSY', address, `${this.#pending} handshakes are already in progress (a flood, or raise maxPendingHandshakes)`)
    }
    if (this.#pending >= this.earlyDropFrom && this.#random() < this.#dropChance()) {
      return refuse('ERR_SHS_BUSY', address, `${this.#pending} handshakes are in progress, so new ones are dropped at random (from earlyDropFrom, ${this.earlyDropFrom})`)
    }
    this.#pending++
    this.#perSource.set(source, fromSource + 1)
    let released = false
    return {
      source,
      release: (outcome) => {
        if (released) return
        released = true
        this.#pending--
        const left = (this.#perSource.get(source) ?? 1) - 1
        if (left === 0) this.#perSource.delete(source)
        else this.#perSource.set(source, left)
        if (outcome === 'failed') this.#penalize(source)
      }
    }
  }

  /** sshd's MaxStartups start:rate:full, as a probability for the next connection. */
  #dropChance (): number {
    if (this.#pending >= this.maxPending) return 1
    const span = this.maxPending - this.earlyDropFrom
    if (span === 0) return 1
    return this.earlyDropRate + (1 - this.earlyDropRate) * (this.#pending - this.earlyDropFrom) / span
  }

  #currentPenalty (source: string): Penalty | undefined {
    const penalty = this.#penalties.get(source)
    if (penalty === undefined) return undefined
    if (penalty.until <= this.#now()) {
      this.#penalties.delete(source)
      return undefined
    }
    return penalty
  }

  #penalize (source: string): void {
    const settings = this.#penalty
    if (settings === undefined) return
    const now = this.#now()
    const penalty = this.#currentPenalty(source) ?? { until: now, blocked: false }
    penalty.until = Math.min(Math.max(penalty.until, now) + settings.perFailure, now + settings.max)
    if (penalty.until - now > settings.blockAbove) penalty.blocked = true
    // Most recently penalized last, so the oldest goes first when the table is full.
    this.#penalties.delete(source)
    while (this.#penalties.size >= settings.maxSources) {
      const oldest = this.#penalties.keys().next()
      if (oldest.done === true) break
      this.#penalties.delete(oldest.value)
    }
    this.#penalties.set(source, penalty)
  }
}

function penaltySettings (option: AdmissionOptions['penalties']): Required<PenaltyOptions> | undefined {
  if (option === undefined || option === false) return undefined
  if (option !== true && (typeof option !== 'object' || option === null || Array.isArray(option))) {
    throw new InvalidOptionError('penalties', `penalties must be true, false or { perFailure, blockAbove, max, maxSources }, got ${describeValue(option)}`)
  }
  const given = option === true ? {} : option
  const range = { min: 1, max: 24 * 60 * 60 * 1000 }
  return {
    perFailure: integerOption('penalties.perFailure', given.perFailure, DEFAULT_PENALTY.perFailure, range),
    blockAbove: integerOption('penalties.blockAbove', given.blockAbove, DEFAULT_PENALTY.blockAbove, { min: 0, max: range.max }),
    max: integerOption('penalties.max', given.max, DEFAULT_PENALTY.max, range),
    maxSources: integerOption('penalties.maxSources', given.maxSources, DEFAULT_PENALTY.maxSources, { min: 1, max: 1_000_000 })
  }
}

function refuse (code: RefusalCode, address: string, why: string): HandshakeError {
  return new HandshakeError(code, `refused a connection from ${address}: ${why}`)
}
