/**
 * The page's bundle of test/browser/muxrpc-call.ts. muxrpc is Node code: in a page it needs a
 * global Buffer (the `buffer` package; esbuild takes `events` from npm by itself), as any
 * Scuttlebutt app in a browser has. The polyfill is set first, the call itself is unchanged.
 */
import './buffer-global.ts'
import { InvalidOptionError, TcpUnavailableError, connect, generateKeyPair } from 'shs-transport'

export { callHello } from './muxrpc-call.ts'

/** The options of one connect() call, as plain data: the keys' bytes as arrays. */
export interface ConnectCall extends Record<string, unknown> {
  networkKey: number[]
  remotePublicKey?: number[]
}

/** What a page's connect() does with `call` (its own key pair made here): 'connected', or the error's class, code and message. */
export async function tryConnect (call: ConnectCall): Promise<string> {
  const { networkKey, remotePublicKey, ...rest } = call
  const options = {
    ...rest,
    keys: generateKeyPair(),
    networkKey: Uint8Array.from(networkKey),
    ...(remotePublicKey === undefined ? {} : { remotePublicKey: Uint8Array.from(remotePublicKey) })
  }
  try {
    const stream = await connect(options as unknown as Parameters<typeof connect>[0])
    stream.abort()
    return 'connected'
  } catch (err) {
    const error = err as Error & { code?: string, option?: string }
    const kind = err instanceof TcpUnavailableError ? 'TcpUnavailableError' : err instanceof InvalidOptionError ? 'InvalidOptionError' : error.name
    return `${kind} ${error.code ?? '-'} ${error.option ?? '-'}: ${error.message}`
  }
}
