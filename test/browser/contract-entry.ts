/**
 * The page side of the transport contract in Chromium: the browser entry's `connectWebSocket`,
 * driven from Node one call at a time (test/contract/ways/browser.ts), so the contract's cases
 * run against the browser's own WebSocket exactly as against every other way in.
 */
import { InvalidOptionError, type SecureStream, ShsError, connectWebSocket } from '../../src/browser.ts'
import { HOSTILE_VALUES, withOption } from '../contract/fuzz/values.ts'
import { fillChunk } from '../contract/ways/pattern.ts'

export interface ErrorReport {
  name: string
  code?: string
  message: string
  option?: string
}

const streams = new Map<number, SecureStream>()
let nextId = 0
const unhandled: string[] = []
const page = globalThis as unknown as EventTarget
page.addEventListener('unhandledrejection', (event) => { unhandled.push(`unhandled rejection: ${String((event as Event & { reason: unknown }).reason)}`) })
page.addEventListener('error', (event) => { unhandled.push(`uncaught: ${String((event as Event & { error: unknown }).error)}`) })

function report (err: unknown): ErrorReport {
  if (!(err instanceof Error)) return { name: 'non-Error', message: String(err) }
  return {
    name: err.name,
    message: err.message,
    ...(err instanceof ShsError ? { code: err.code } : {}),
    ...(err instanceof InvalidOptionError ? { option: err.option } : {})
  }
}

function stream (id: number): SecureStream {
  const found = streams.get(id)
  if (found === undefined) throw new Error(`no stream ${id}`)
  return found
}

function toBase64 (bytes: Uint8Array): string {
  let text = ''
  for (let offset = 0; offset < bytes.byteLength; offset += 0x8000) text += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000))
  return btoa(text)
}

/** `idleTimeout` null means none (Node's undefined arrives as null). */
export async function open (url: string, keys: { publicKey: number[], secretKey: number[] }, remotePublicKey: number[], networkKey: number[], idleTimeout?: number | null): Promise<{ id: number, remotePublicKey: number[] }> {
  const secure = await connectWebSocket({
    url,
    keys: { publicKey: Uint8Array.from(keys.publicKey), secretKey: Uint8Array.from(keys.secretKey) },
    remotePublicKey: Uint8Array.from(remotePublicKey),
    networkKey: Uint8Array.from(networkKey),
    ...(idleTimeout === undefined || idleTimeout === null ? {} : { idleTimeout })
  })
  const id = nextId++
  streams.set(id, secure)
  return { id, remotePublicKey: Array.from(secure.remotePublicKey) }
}

/** Everything the stream delivers, base64, and the error it ended with. */
export async function readAll (id: number): Promise<{ data: string, error?: ErrorReport }> {
  const chunks: Uint8Array[] = []
  let error: ErrorReport | undefined
  try {
    for await (const chunk of stream(id).source) chunks.push(chunk)
  } catch (err) {
    error = report(err)
  }
  const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) { joined.set(chunk, offset); offset += chunk.byteLength }
  return { data: toBase64(joined), ...(error === undefined ? {} : { error }) }
}

async function settled (writing: Promise<void>): Promise<ErrorReport | undefined> {
  try {
    await writing
    return undefined
  } catch (err) {
    return report(err)
  }
}

export async function writeReusing (id: number, size: number, count: number): Promise<ErrorReport | undefined> {
  const buffer = new Uint8Array(size)
  return await settled(stream(id).sink((async function * () {
    for (let i = 0; i < count; i++) {
      fillChunk(buffer, i)
      yield buffer
    }
  })()))
}

export async function writeEndless (id: number): Promise<ErrorReport | undefined> {
  const chunk = new Uint8Array(16_384)
  return await settled(stream(id).sink((async function * () { for (;;) yield chunk })()))
}

/** The echo as docs/BROWSER.md writes it: the promise is not awaited. */
export function echo (id: number): void {
  const secure = stream(id)
  void secure.sink(secure.source)
}

export function abort (id: number): void {
  stream(id).abort()
}

export function forget (id: number): void {
  streams.get(id)?.abort()
  streams.delete(id)
}

export function failures (): string[] {
  return unhandled.splice(0)
}

/** One option of the page's `connectWebSocket` given one hostile value, as the Node fuzz classifies it. */
export interface PageFuzzCase {
  option: string
  value: string
  outcome: 'typed' | 'untyped' | 'works' | 'broken'
  named: boolean
  /** WebSockets the call opened although it failed: nothing may be opened for a bad option. */
  socketsOpened: number
  detail: string
}

/** Every option of `connectWebSocket` with every hostile value (values.ts), against an echo server at `url`. */
export async function fuzzOptions (url: string, remotePublicKey: number[], keys: { publicKey: number[], secretKey: number[] }, networkKey: number[]): Promise<PageFuzzCase[]> {
  const base: Record<string, unknown> = {
    url,
    keys: { publicKey: Uint8Array.from(keys.publicKey), secretKey: Uint8Array.from(keys.secretKey) },
    remotePublicKey: Uint8Array.from(remotePublicKey),
    networkKey: Uint8Array.from(networkKey)
  }
  // The rekey settings without a hostile value in their range (`rekey: {}` and 2^31 afterBytes are valid).
  const options = ['url', 'keys', 'networkKey', 'remotePublicKey', 'timeout', 'signal', 'onHandshakeProgress', 'idleTimeout', 'earlyData',
    'rekey.mode', 'rekey.afterMs', 'rekey.timeout']
  const cases: PageFuzzCase[] = []
  const NativeWebSocket = globalThis.WebSocket
  let opened = 0
  // Counts the sockets a call opens, without changing what a socket does.
  globalThis.WebSocket = class extends NativeWebSocket {
    constructor (...args: ConstructorParameters<typeof WebSocket>) { super(...args); opened++ }
  }
  try {
    for (const option of options) {
      for (const { label, value } of HOSTILE_VALUES) {
        opened = 0
        const result: PageFuzzCase = { option, value: label, outcome: 'works', named: false, socketsOpened: 0, detail: '' }
        try {
          const secure = await connectWebSocket(withOption(base, option, value) as unknown as Parameters<typeof connectWebSocket>[0])
          secure.abort()
        } catch (err) {
          const typed = err instanceof ShsError && ['ERR_SHS_INVALID_OPTION', 'ERR_SHS_INVALID_KEY'].includes(err.code)
          result.outcome = typed ? 'typed' : 'untyped'
          result.named = (err as { option?: unknown }).option === option
          result.socketsOpened = opened
          result.detail = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 160)
        }
        cases.push(result)
      }
    }
  } finally {
    globalThis.WebSocket = NativeWebSocket
  }
  return cases
}
