/**
 * The browser's WebSocket client, `connectWebSocket` from the browser entry, run in headless
 * Chromium: the app end is the page (test/browser/contract-entry.ts), called one operation at a
 * time; the raw end is a `ws` server here in Node.
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'puppeteer-core'
import { WebSocketServer } from 'ws'
import { ShsError, type ShsErrorCode } from '../../../src/index.ts'
import { bundle, launchChromium, pageWith } from '../../../scripts/browser/harness.ts'
import type { ErrorReport } from '../../browser/contract-entry.ts'
import { webSocketRaw } from './raw.ts'
import type { AppEnd, Opened, RawEnd, WayIn } from './types.ts'

type Entry = typeof import('../../browser/contract-entry.ts')

let browser: Browser | undefined
let page: Page | undefined

/** Calls one of the page entry's functions. */
async function call<K extends keyof Entry> (name: K, ...args: Parameters<Entry[K]>): Promise<Awaited<ReturnType<Entry[K]>>> {
  if (page === undefined) throw new Error('the browser way is not set up')
  return await page.evaluate(async (name, args) => {
    const entry = (globalThis as unknown as { shsContract: Record<string, (...args: unknown[]) => unknown> }).shsContract
    return await entry[name]?.(...args)
  }, name, args as unknown[]) as Awaited<ReturnType<Entry[K]>>
}

/** The page's error, as the library's typed error where it was one. */
export function fromReport (report: ErrorReport): Error {
  const error = report.code === undefined ? new Error(report.message) : new ShsError(report.code as ShsErrorCode, report.message)
  error.name = report.name
  return error
}

function throwIfFailed (report: ErrorReport | undefined): void {
  if (report !== undefined) throw fromReport(report)
}

export const browserWebSocket: WayIn = {
  name: 'the browser\'s WebSocket (connectWebSocket in Chromium)',
  roles: ['client'],
  idleTimeout: true,
  appElsewhere: true,
  async before () {
    browser = await launchChromium()
    const { code } = await bundle('test/browser/contract-entry.ts', { globalName: 'shsContract' })
    page = (await pageWith(browser, code)).page
  },
  async after () {
    await browser?.close()
    browser = undefined
    page = undefined
  },
  async open (_role, identities, handshake, options = {}): Promise<Opened> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    let raw: RawEnd | undefined
    let peer: Promise<void> | undefined
    server.on('connection', (socket) => {
      raw = webSocketRaw(socket)
      peer = handshake(raw)
    })
    const closeServer = async (): Promise<void> => {
      for (const client of server.clients) client.terminate()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
    let opened: { id: number, remotePublicKey: number[] }
    try {
      opened = await call('open', `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
        { publicKey: Array.from(identities.ours.publicKey), secretKey: Array.from(identities.ours.secretKey) },
        Array.from(identities.theirs.publicKey), Array.from(identities.networkKey), options.idleTimeout)
      await peer
    } catch (err) {
      await closeServer()
      throw err
    }
    const { id } = opened
    const app: AppEnd = {
      remotePublicKey: Uint8Array.from(opened.remotePublicKey),
      async * read () {
        const { data, error } = await call('readAll', id)
        yield new Uint8Array(Buffer.from(data, 'base64'))
        if (error !== undefined) throw fromReport(error)
      },
      writeReusing: async (size, count) => { throwIfFailed(await call('writeReusing', id, size, count)) },
      writeEndless: async () => { throwIfFailed(await call('writeEndless', id)) },
      echoIgnoringOutcome: () => { void call('echo', id) },
      abort: () => { void call('abort', id) },
      failures: async () => await call('failures')
    }
    return { app, raw: raw as RawEnd, close: async () => { await call('forget', id); await closeServer() } }
  }
}
