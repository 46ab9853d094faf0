/** Timing the drivers of every transport share. */

/**
 * How long a finished connection (both goodbyes exchanged) waits for the peer to close its side
 * after we closed ours, before the transport is cut: nothing may come from the peer any more, so
 * a peer that never sends its FIN (or WebSocket close) must not hold a socket or a slot.
 */
export const FINISHED_LINGER_MS = 2000
