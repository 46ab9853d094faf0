/**
 * `shs-transport/pull`: a secure stream as a pull-stream duplex, so muxrpc, secret-stack's rpc
 * and other pull-stream code run on `connect()` and `listen()` streams as they are, in Node and
 * in a page:
 *
 *   const duplex = toPullDuplex(await connect({ address, keys, networkKey }))
 *   pull(duplex, rpc.stream, duplex)
 *
 * and the two bridges it is made of, between pull-streams and async iterables.
 */
export { type SecurePullDuplex, toPullDuplex } from '../multiserver/secure-pull.ts'
export type { RekeyView } from '../driver/rekey-view.ts'
export {
  type PullCallback, type PullDuplex, type PullEnd, type PullSink, type PullSource, fromPullSource, toPullSource
} from '../multiserver/pull.ts'
export { PeerGoneError } from '../multiserver/network-errors.ts'
