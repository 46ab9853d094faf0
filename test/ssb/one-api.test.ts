/**
 * One API in Node and the browser: test/browser/muxrpc-call.ts, written against the package by
 * its name (connect(), then muxrpc through shs-transport/pull's toPullDuplex), runs unchanged in
 * Node and, bundled by esbuild for the browser, in headless Chromium, against a stock secret-stack
 * peer (stock shs plugin, multiserver's ws transport). In the page, connect() takes Node's
 * options: it dials the ws: alternative of the peer's address and refuses what a page cannot do.
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import type { Browser, Page } from 'puppeteer-core'
import { bundle, launchChromium, pageWith } from '../../scripts/browser/harness.ts'
import { CAPS, type InProcessApp, appConfig, closeInProcess, pick, startInProcess } from '../secret-stack/app-process.ts'
import { type Called, callHello } from '../browser/muxrpc-call.ts'
import type { ConnectCall } from '../browser/muxrpc-page.ts'

const require = createRequire(import.meta.url)
const { stockShs } = require('../fixtures/ssb-app.cjs')

const NETWORK_KEY = Array.from(Buffer.from(CAPS, 'base64'))

interface PageExports {
  callHello: typeof callHello
  tryConnect: (call: ConnectCall) => Promise<string>
}

/** The page bundle's exports, called from here: plain data in, plain data out. */
function onPage (page: Page): { callHello: (address: string, name: string) => Promise<Called>, tryConnect: (call: Omit<ConnectCall, 'networkKey'>) => Promise<string> } {
  return {
    callHello: async (address, name) => await page.evaluate(async (address, key, name) =>
      await (globalThis as unknown as { oneApi: PageExports }).oneApi.callHello(address, key, name), address, NETWORK_KEY, name),
    tryConnect: async (call) => await page.evaluate(async (call) =>
      await (globalThis as unknown as { oneApi: PageExports }).oneApi.tryConnect(call), { ...call, networkKey: NETWORK_KEY })
  }
}

describe('one API in Node and the browser: connect() and shs-transport/pull', function () {
  this.timeout(120_000)
  let stock: InProcessApp
  let address: string
  let publicKey: number[]

  before(async () => {
    stock = await startInProcess(await appConfig(8), stockShs(8))
    address = stock.getAddress('device')
    publicKey = Array.from(Buffer.from(stock.id.slice(1, -'.ed25519'.length), 'base64'))
  })
  after(async () => { if (stock !== undefined) await closeInProcess(stock) })

  it('in Node: the module dials the peer\'s address and makes a muxrpc call through toPullDuplex', async () => {
    const called = await callHello(address, NETWORK_KEY, 'node')
    assert.equal(called.greeting, `hello node, this is ${stock.id}`)
    assert.deepEqual(called.remote, publicKey)
  })

  describe('in headless Chromium, the same module bundled by esbuild', () => {
    let browser: Browser
    let page: Page
    let errors: string[]

    before(async () => {
      browser = await launchChromium()
      // The package by its name, through package.json's exports and the browser condition, as an app's bundler resolves it.
      const built = await bundle('test/browser/muxrpc-page.ts', { source: false, tsconfig: false, globalName: 'oneApi' })
      assert.doesNotMatch(built.code, /sodium-native|node:net|node:stream/)
      ;({ page, errors } = await pageWith(browser, built.code))
    })
    after(async () => { await browser?.close() })

    it('makes the muxrpc call to the stock peer: connect() skips the net: alternative and dials ws:', async () => {
      assert.match(address, /^net:[^;]+;ws:\/\//, 'the address lists net: first')
      const called = await onPage(page).callHello(address, 'page')
      assert.equal(called.greeting, `hello page, this is ${stock.id}`)
      assert.deepEqual(called.remote, publicKey)
      assert.deepEqual(errors, [])
    })

    it('a net: address, or a host and port, fails with a TcpUnavailableError saying a page cannot open TCP', async () => {
      const { tryConnect } = onPage(page)
      const net = await tryConnect({ address: pick(address, 'net') })
      assert.match(net, /^TcpUnavailableError ERR_SHS_INVALID_ADDRESS address: a web page cannot open TCP connections, which net: addresses need: dial the peer's ws: or wss: address/)
      const hostPort = await tryConnect({ host: '127.0.0.1', port: 8008, remotePublicKey: publicKey })
      assert.match(hostPort, /^TcpUnavailableError ERR_SHS_INVALID_ADDRESS address: a web page cannot open TCP connections, which connect\(\{ host, port \}\) need/)
    })

    it('ca and pingInterval, which only the browser decides in a page, are refused by name before anything is dialled', async () => {
      const { tryConnect } = onPage(page)
      const ws = pick(address, 'ws')
      assert.match(await tryConnect({ address: ws, ca: 'PEM' }), /^InvalidOptionError ERR_SHS_INVALID_OPTION ca: ca does not work in a web page: the browser alone decides/)
      assert.match(await tryConnect({ address: ws, pingInterval: 1000 }), /^InvalidOptionError ERR_SHS_INVALID_OPTION pingInterval: pingInterval does not work in a web page/)
      assert.match(await tryConnect({ address: ws, timeout: -1 }), /^InvalidOptionError ERR_SHS_INVALID_OPTION timeout: /)
    })

    it('when the ws: alternative fails too, the error lists each alternative with its own reason', async () => {
      const key = pick(address, 'net').replace(/^[^~]+/, '')
      const failure = await onPage(page).tryConnect({ address: `net:127.0.0.1:1${key};ws://127.0.0.1:1${key}` })
      assert.match(failure, /^AllAddressesFailedError ERR_SHS_ALL_ADDRESSES_FAILED -: none of the 2 addresses worked:\n {2}1\. net:127\.0\.0\.1:1~shs:\S+: a web page cannot open TCP connections[^\n]*\n {2}2\. ws:\/\/127\.0\.0\.1:1~shs:\S+: could not open the WebSocket/)
    })
  })
})
