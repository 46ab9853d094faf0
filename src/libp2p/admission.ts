/**
 * listen()'s admission (src/net/admission.ts: per-source caps, random early drop, the pending cap,
 * penalties) for a js-libp2p node, as a connection gater: an inbound connection is admitted when
 * libp2p asks `denyInboundConnection`, and leaves the count once it is encrypted or closes.
 *
 * libp2p refuses inbound connections itself before the gater is asked: beyond
 * `maxIncomingPendingConnections` (default 10) upgrades in progress, and beyond
 * `inboundConnectionThreshold` connections per second from one host. Ten slots are what a few
 * stallers fill, so `connectionManager` here raises the first above our own cap, leaving the
 * per-source share to the gater (docs/HOSTILE-LOAD.md, "libp2p").
 */
import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import { HandshakeError } from '../errors.ts'
import { checkCallback, checkOptions } from '../options.ts'
import { Admission, type AdmissionEnvironment, type AdmissionOptions } from '../net/admission.ts'

export interface ShsAdmissionInit extends AdmissionOptions {
  /** Hears each refused connection, with the reason (ERR_SHS_BUSY, ERR_SHS_SOURCE_BUSY, ERR_SHS_PENALIZED) and the remote host. */
  onRefused?: (error: HandshakeError, host: string) => void
}

/** What `shsAdmission()` gives an operator to put into `createLibp2p()`. */
export interface ShsAdmission {
  /** For `createLibp2p({ connectionGater })` (spread it into a gater of your own). */
  readonly connectionGater: Required<Pick<ConnectionGater, 'denyInboundConnection' | 'denyInboundEncryptedConnection'>>
  /** For `createLibp2p({ connectionManager })`: libp2p's own pending cap, above ours. */
  readonly connectionManager: { maxIncomingPendingConnections: number }
  /** Inbound connections admitted and not yet encrypted or closed. */
  readonly pending: number
  /** Inbound connections the gater refused so far. */
  readonly refused: number
}

/** Slots above our cap in libp2p's: connections our gater refuses hold one until libp2p has closed them. */
const LIBP2P_PENDING_HEADROOM = 64

/** A gater that admits inbound connections as listen() does, and the connection-manager settings it relies on. */
export function shsAdmission (init: ShsAdmissionInit = {}, environment: AdmissionEnvironment = {}): ShsAdmission {
  const given = checkOptions(init, 'init')
  const onRefused = checkCallback(given.onRefused, 'onRefused')
  const admission = new Admission(given, environment)
  const tickets = new WeakMap<MultiaddrConnection, (outcome: 'done' | 'failed') => void>()
  let refused = 0
  return {
    connectionGater: {
      denyInboundConnection (maConn) {
        const host = hostOf(maConn)
        const ticket = admission.admit(host)
        if (ticket instanceof HandshakeError) {
          refused++
          onRefused?.(ticket, host)
          return true
        }
        tickets.set(maConn, ticket.release)
        // A connection that closes before it is encrypted failed (or stalled until libp2p's timeout).
        maConn.addEventListener('close', () => { ticket.release('failed') }, { once: true })
        return false
      },
      denyInboundEncryptedConnection (_peerId, maConn) {
        tickets.get(maConn)?.('done')
        tickets.delete(maConn)
        return false
      }
    },
    connectionManager: { maxIncomingPendingConnections: admission.maxPending + LIBP2P_PENDING_HEADROOM },
    get pending () { return admission.pending },
    get refused () { return refused }
  }
}

/** The remote IP address of a connection (`/ip4/…` or `/ip6/…`); anything else is a source of its own kind. */
function hostOf (maConn: MultiaddrConnection): string {
  const components = maConn.remoteAddr.getComponents()
  const ip = components.find((component) => component.name === 'ip4' || component.name === 'ip6')
  return ip?.value ?? components[0]?.name ?? 'unknown'
}
