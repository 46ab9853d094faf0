/** The counters shs reports when the node has a metrics implementation (names as noise names its own). */
import type { Counter, Metrics } from '@libp2p/interface'

export interface ShsMetrics {
  readonly handshakeSuccesses: Counter
  readonly handshakeErrors: Counter
  readonly encryptedPackets: Counter
  readonly decryptedPackets: Counter
  readonly decryptErrors: Counter
  readonly rekeys: Counter
}

export function registerMetrics (metrics: Pick<Metrics, 'registerCounter'>): ShsMetrics {
  return {
    handshakeSuccesses: metrics.registerCounter('libp2p_shs_handshake_successes_total', {
      help: 'Total count of secret handshakes that completed'
    }),
    handshakeErrors: metrics.registerCounter('libp2p_shs_handshake_errors_total', {
      help: 'Total count of secret handshakes that failed, timed out or were aborted'
    }),
    encryptedPackets: metrics.registerCounter('libp2p_shs_encrypted_packets_total', {
      help: 'Total count of box-stream packets sealed'
    }),
    decryptedPackets: metrics.registerCounter('libp2p_shs_decrypted_packets_total', {
      help: 'Total count of box-stream packets opened'
    }),
    decryptErrors: metrics.registerCounter('libp2p_shs_decrypt_errors_total', {
      help: 'Total count of box-stream packets that failed authentication (the connection was aborted)'
    }),
    rekeys: metrics.registerCounter('libp2p_shs_rekeys_total', {
      help: 'Total count of rekeys of the shs-rekey/1 extension completed (docs/REKEY.md)'
    })
  }
}
