/**
 * The rekey extension from a web page (headless Chromium, the browser's own WebSocket): the
 * page's `connectWebSocket` and `connect({ address })` negotiate it with our listenWebSocket and
 * rekey, every byte of the echo checked; with `prefer` it opens a second WebSocket with plain
 * SHS1 against a server without the extension; `require` fails there; bad values are typed; and
 * the page's `connect({ address })` hands `earlyData` on with `rekey`.
 */
import assert from 'node:assert/strict'
import type { Browser, Page } from 'puppeteer-core'
import { type RekeyOption, SSB_NETWORK_KEY, type SecureStream, formatWsAddress, generateKeyPair, listenWebSocket } from '../../src/index.ts'
import { bundle, launchChromium, pageWith } from '../../scripts/browser/harness.ts'
import type { RekeyEchoReport } from '../browser/rekey-entry.ts'
import { collect } from '../helpers/bytes.ts'

const ECHO_BYTES = 1024 * 1024
const serverKeys = generateKeyPair()
const serverKey = Array.from(serverKeys.publicKey)

type Entry = typeof import('../browser/rekey-entry.ts')

async function echoFromPage (page: Page, target: { url: string, address?: string }, rekey: RekeyOption): Promise<RekeyEchoReport> {
  return await page.evaluate(async (target, key, rekey, total) =>
    await (globalThis as unknown as { shsBundle: Entry }).shsBundle.rekeyEcho(target, key, rekey, total), target, serverKey, rekey, ECHO_BYTES)
}

async function failureFromPage (page: Page, url: string, rekey: unknown): Promise<string> {
  return await page.evaluate(async (url, key, rekey) =>
    await (globalThis as unknown as { shsBundle: Entry }).shsBundle.rekeyFailure(url, key, rekey), url, serverKey, rekey)
}

describe('rekey extension in headless Chromium: the page\'s WebSocket client', function () {
  this.timeout(60_000)
  let browser: Browser
  let page: Page
  let pageErrors: string[]

  before(async () => {
    browser = await launchChromium()
    const { code } = await bundle('test/browser/rekey-entry.ts')
    ;({ page, errors: pageErrors } = await pageWith(browser, code))
  })
  after(async () => { await browser?.close() })
  afterEach(() => { assert.deepEqual(pageErrors, []) })

  /** An echo server with `rekey`; what it served, and how many WebSockets reached it. */
  async function echoServer (rekey: RekeyOption): Promise<{ url: string, port: number, streams: SecureStream[], connections: () => number, close: () => Promise<void> }> {
    const streams: SecureStream[] = []
    let connections = 0
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, rekey, onConnection: () => { connections++ } }, (stream) => {
      streams.push(stream)
      void stream.sink(stream.source).catch(() => {})
    })
    const { port } = listener.address()
    return { url: `ws://127.0.0.1:${port}`, port, streams, connections: () => connections, close: listener.close }
  }

  it('connectWebSocket and connect({ address }) with rekey require: agreed, one rekey on demand each, 1 MiB echoed byte for byte', async () => {
    const server = await echoServer({ mode: 'require', afterBytes: 1024 * 1024 })
    try {
      const address = formatWsAddress({ host: '127.0.0.1', port: server.port }, serverKeys.publicKey)
      for (const target of [{ url: server.url }, { url: server.url, address }]) {
        const report = await echoFromPage(page, target, 'require')
        assert.deepEqual(report, { rekeying: true, rekeys: report.rekeys, received: ECHO_BYTES, firstMismatch: -1 })
        assert.ok(report.rekeys >= 1, `rekeyed (${report.rekeys})`)
      }
      assert.deepEqual(server.streams.map((stream) => stream.rekeying), [true, true])
    } finally {
      await server.close()
    }
  })

  it('prefer against a server without the extension: a second WebSocket with plain SHS1, echoed byte for byte; require fails typed', async () => {
    const server = await echoServer(false)
    try {
      const report = await echoFromPage(page, { url: server.url }, 'prefer')
      assert.deepEqual(report, { rekeying: false, rekeys: 0, received: ECHO_BYTES, firstMismatch: -1 })
      assert.equal(server.connections(), 2, 'the refused WebSocket and the plain one')
      assert.equal(await failureFromPage(page, server.url, 'require'), 'HandshakeError ERR_SHS_REKEY_REQUIRED')
    } finally {
      await server.close()
    }
  })

  it('connect({ address }) in a page passes rekey and earlyData to the ws: alternative: the server gets the early bytes, under the extension', async () => {
    const received: Array<Promise<Uint8Array>> = []
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, rekey: 'require' }, (stream) => {
      const bytes = collect(stream.source)
      received.push(bytes)
      bytes.then(async () => { await stream.sink([]) }, () => {})
    })
    try {
      const address = formatWsAddress({ host: '127.0.0.1', port: listener.address().port }, serverKeys.publicKey)
      const early = [1, 2, 3, 250]
      const report = await page.evaluate(async (address, early) =>
        await (globalThis as unknown as { shsBundle: Entry }).shsBundle.earlyDataViaAddress(address, early, 'require'), address, early)
      assert.deepEqual(report, { rekeying: true })
      assert.deepEqual(Array.from(await (received[0] as Promise<Uint8Array>)), early)
    } finally {
      await listener.close()
    }
  })

  it('bad rekey values are InvalidOptionErrors naming the option; no WebSocket opens', async () => {
    const server = await echoServer('prefer')
    try {
      assert.equal(await failureFromPage(page, server.url, 'always'), 'InvalidOptionError ERR_SHS_INVALID_OPTION rekey')
      assert.equal(await failureFromPage(page, server.url, { afterMs: 5 }), 'InvalidOptionError ERR_SHS_INVALID_OPTION rekey.afterMs')
      assert.equal(server.connections(), 0)
    } finally {
      await server.close()
    }
  })
})
