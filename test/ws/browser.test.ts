/**
 * The browser entry in headless Chromium: its WebSocket client (the browser's own WebSocket)
 * completes the handshake and echoes 8 MiB, every byte checked, against our Node WebSocket
 * server and against the reference (stock multiserver ws + secret-handshake); wss: with a
 * certificate the browser trusts, and refusals the browser reports as ConnectionError.
 */
import assert from 'node:assert/strict'
import { X509Certificate, createHash } from 'node:crypto'
import { generate } from 'selfsigned'
import type { Browser, Page } from 'puppeteer-core'
import { SSB_NETWORK_KEY, generateKeyPair, listenWebSocket } from '../../src/index.ts'
import { bundle, launchChromium, pageWith } from '../../scripts/browser/harness.ts'
import { pull, startStockServer, stockShs } from '../helpers/multiserver.ts'
import type { EchoReport } from '../browser/ws-entry.ts'

const ECHO_BYTES = 8 * 1024 * 1024
const serverKeys = generateKeyPair()

async function echoFromPage (page: Page, url: string, total = ECHO_BYTES): Promise<EchoReport> {
  return await page.evaluate(async (url, key, total) => await (globalThis as unknown as {
    shsBundle: { echoOverWebSocket: (url: string, key: number[], total: number) => Promise<EchoReport> }
  }).shsBundle.echoOverWebSocket(url, key, total), url, Array.from(serverKeys.publicKey), total)
}

async function failureFromPage (page: Page, url: string): Promise<string> {
  return await page.evaluate(async (url, key) => {
    const { connectWebSocket, generateKeyPair, SSB_NETWORK_KEY } = (globalThis as unknown as { shsBundle: typeof import('../../src/browser.ts') }).shsBundle
    try {
      await connectWebSocket({ url, keys: generateKeyPair(), remotePublicKey: Uint8Array.from(key), networkKey: SSB_NETWORK_KEY })
      return 'connected'
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`
    }
  }, url, Array.from(serverKeys.publicKey))
}

function assertEchoed (report: EchoReport, total = ECHO_BYTES): void {
  assert.equal(report.remoteMatches, true, 'the stream names the server key we dialled')
  assert.equal(report.received, total, 'every byte came back')
  assert.equal(report.firstMismatch, -1, 'every byte came back unchanged')
}

describe('the browser entry in headless Chromium: WebSocket client', function () {
  this.timeout(120_000)
  let browser: Browser
  let code: string

  before(async () => {
    browser = await launchChromium()
    code = (await bundle('test/browser/ws-entry.ts')).code
  })
  after(async () => { await browser?.close() })

  it('the package name resolves to the browser entry under the browser condition: no Node modules, no native addon', async () => {
    const built = await bundle('test/browser/package-entry.js', { source: false, tsconfig: false, minify: true })
    assert.doesNotMatch(built.code, /sodium-native|node:net|node:stream/)
    const { page, errors } = await pageWith(browser, built.code)
    const exported = await page.evaluate(() => Object.keys((globalThis as unknown as { shsBundle: object }).shsBundle))
    for (const name of ['connect', 'connectEndpoint', 'connectWebSocket', 'clientHandshake', 'SecretHandshake', 'BoxStreamEncoder', 'parseMultiserverAddress', 'TcpUnavailableError']) {
      assert.ok(exported.includes(name), `exports ${name}`)
    }
    for (const name of ['listen', 'listenWebSocket', 'toNodeDuplex', 'openTcpSocket']) assert.ok(!exported.includes(name), `leaves out ${name}`)
    assert.deepEqual(errors, [])
    console.log(`      browser entry: ${(built.bytes / 1024).toFixed(0)} KiB minified, ${(built.gzippedBytes / 1024).toFixed(0)} KiB gzipped`)
  })

  it('handshakes with our Node listenWebSocket server and echoes 8 MiB, every byte checked', async () => {
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => {
      void stream.sink(stream.source).catch(() => {})
    })
    try {
      const { page, errors } = await pageWith(browser, code)
      const report = await echoFromPage(page, `ws://127.0.0.1:${listener.address().port}`)
      assertEchoed(report)
      assert.deepEqual(errors, [])
      console.log(`      handshake ${report.handshakeMs.toFixed(0)} ms, 8 MiB echo ${report.echoMs.toFixed(0)} ms`)
      await page.close()
    } finally {
      await listener.close()
    }
  })

  it('handshakes with the reference (stock multiserver ws + secret-handshake) and echoes 8 MiB, every byte checked', async () => {
    const server = await startStockServer('ws', stockShs(serverKeys, SSB_NETWORK_KEY), (stream) => { pull(stream, stream) })
    try {
      const { page, errors } = await pageWith(browser, code)
      const report = await echoFromPage(page, `ws://127.0.0.1:${server.port}`)
      assertEchoed(report)
      assert.deepEqual(errors, [])
      assert.deepEqual(server.errors, [])
      console.log(`      handshake ${report.handshakeMs.toFixed(0)} ms, 8 MiB echo ${report.echoMs.toFixed(0)} ms`)
      await page.close()
    } finally {
      await server.close()
    }
  })

  it('a server that is not there: connectWebSocket rejects with a ConnectionError saying what to check', async () => {
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, () => {})
    const port = listener.address().port
    await listener.close()
    const { page } = await pageWith(browser, code)
    const failure = await failureFromPage(page, `ws://127.0.0.1:${port}`)
    assert.match(failure, /^ConnectionError: could not open the WebSocket ws:\/\/127\.0\.0\.1:\d+: check the address/)
    await page.close()
  })

  it('wss: a self-signed certificate the browser was told to trust (by its key): 1 MiB echoed; untrusted, a ConnectionError', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]
    })
    const spki = new X509Certificate(pems.cert).publicKey.export({ type: 'spki', format: 'der' })
    const pin = createHash('sha256').update(spki).digest('base64')
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, cert: pems.cert, key: pems.private }, (stream) => {
      void stream.sink(stream.source).catch(() => {})
    })
    const trusting = await launchChromium([`--ignore-certificate-errors-spki-list=${pin}`])
    try {
      const url = `wss://127.0.0.1:${listener.address().port}`
      const untrusted = await pageWith(browser, code)
      assert.match(await failureFromPage(untrusted.page, url), /^ConnectionError: could not open the WebSocket wss:.*certificate/)
      const { page, errors } = await pageWith(trusting, code)
      const total = 1024 * 1024
      assertEchoed(await echoFromPage(page, url, total), total)
      assert.deepEqual(errors, [])
    } finally {
      await trusting.close()
      await listener.close()
    }
  })

  it('a peer that sends more than the page reads (16 MiB unread) is dropped: the stream ends in a ConnectionError, memory stays bounded', async () => {
    const flood = 64 * 1024 * 1024
    let closedByPage: () => void = () => {}
    const pageClosed = new Promise<void>((resolve) => { closedByPage = resolve })
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => {
      async function * payload (): AsyncGenerator<Uint8Array> {
        for (let sent = 0; sent < flood; sent += 64 * 1024) yield new Uint8Array(64 * 1024)
      }
      stream.sink(payload()).catch(() => {})
      // The page never says goodbye: our reading ends only when the page drops the connection.
      void (async () => {
        let received = 0
        try {
          for await (const chunk of stream.source) received += chunk.length
          assert.equal(received, 0, 'the page sends nothing')
        } catch (err) {
          assert.ok(err instanceof Error, 'the stream ends in an error when the page drops us')
        } finally {
          closedByPage()
        }
      })()
    })
    try {
      const { page } = await pageWith(browser, code)
      await page.evaluate(async (url, key) => {
        const scope = globalThis as unknown as { shsBundle: typeof import('../../src/browser.ts'), held?: unknown }
        const { connectWebSocket, generateKeyPair, SSB_NETWORK_KEY } = scope.shsBundle
        scope.held = await connectWebSocket({ url, keys: generateKeyPair(), remotePublicKey: Uint8Array.from(key), networkKey: SSB_NETWORK_KEY })
      }, `ws://127.0.0.1:${listener.address().port}`, Array.from(serverKeys.publicKey))
      // The page reads nothing until it has dropped us (the test times out if it never does).
      await pageClosed
      const { read, failure } = await page.evaluate(async () => {
        const stream = (globalThis as unknown as { held: { source: AsyncIterable<Uint8Array> } }).held
        let read = 0
        try {
          for await (const chunk of stream.source) read += chunk.length
          return { read, failure: 'none' }
        } catch (err) {
          return { read, failure: `${(err as Error).name}: ${(err as Error).message}` }
        }
      })
      assert.match(failure, /^ConnectionError: the peer sent more than 16777216 bytes that were not read yet/)
      // The cap is on what waits in the WebSocket's queue; the secure stream above it may have
      // taken a little more in. Far less than the 64 MiB sent either way.
      assert.ok(read > 0 && read < 20 * 1024 * 1024, `the page held about 16 MiB, not all 64 (read ${read})`)
      await page.close()
    } finally {
      await listener.close()
    }
  })
})
