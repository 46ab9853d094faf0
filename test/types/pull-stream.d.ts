/** The little the tests use of two untyped CommonJS packages, for code that imports them by name. */
declare module 'pull-stream' {
  const pull: (...streams: unknown[]) => unknown
  export default pull
}

declare module 'muxrpc' {
  /** A muxrpc peer: `stream` is its pull duplex; the remote's methods sit under their manifest's names. */
  export interface Muxrpc {
    readonly stream: unknown
    close (cb: (err?: Error | null) => void): void
    readonly [group: string]: unknown
  }
  export default function muxrpc (remoteManifest: object, localManifest?: object, localApi?: object, perms?: object): Muxrpc
}
