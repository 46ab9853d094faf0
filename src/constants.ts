import { fromString } from 'uint8arrays/from-string'

/** Secure Scuttlebutt's main network key (its "caps shs"): peers on the SSB main network use it. */
export const SSB_NETWORK_KEY: Uint8Array = fromString('1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=', 'base64pad')

/** How long a handshake may take unless the caller says otherwise. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000
