/**
 * Tools for playing the hostile peer over real TCP: a raw socket that records every byte it is
 * sent, SHS1 written out step by step from docs/PROTOCOL.md with the raw primitives (independent of
 * src/handshake, so a test can build any message, valid or not), a raw server, a relay that
 * flips a bit in transit, and box-stream packet crafting.
 */
export * from './adversary/wire.ts'
export * from './adversary/sockets.ts'
export * from './adversary/handshake.ts'
export * from './adversary/packets.ts'
