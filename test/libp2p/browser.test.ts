/**
 * shs() in a browser: a js-libp2p node in headless Chromium (@libp2p/websockets, shs(), yamux)
 * dials a Node libp2p node listening on ws://127.0.0.1, pings it and echoes 8 MiB with every byte
 * checked in the page; and a dial the secret handshake must refuse fails, saying where it stopped.
 * The page loads `shs-transport/libp2p` by the package's name from the built dist/ (npm test
 * builds first), as an app's bundler resolves it with the `browser` condition.
 *
 * A refused dial fails at once in the page, explained as over TCP ("the server hung up after our
 * first message: wrong network key…"): shs() hangs up on a peer that failed the handshake with a
 * close, because @libp2p/websockets 10 cannot abort a connection (test/libp2p/upstream.test.ts);
 * before that the page learnt of the refusal only at libp2p's 6 s dial timeout.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Browser, Page } from 'puppeteer-core'
import { SHS_MUXER_PROTOCOL } from '../../src/libp2p/index.ts'
import { bundle, launchChromium, pageWith } from '../../scripts/browser/harness.ts'
import type { DialFailure, Libp2pEchoReport } from '../browser/libp2p-entry.ts'
import { ECHO_PROTOCOL, type TestNode, addressOf, createNode, shsWith, waitUntilDisconnected, withoutPeerId } from './helpers.ts'

const ECHO_BYTES = 8 * 1024 * 1024

type PageExports = typeof import('../browser/libp2p-entry.ts')

async function echoFromPage (page: Page, address: string, networkKey: Uint8Array): Promise<Libp2pEchoReport> {
  return await page.evaluate(async (address, key, protocol, total) =>
    await (globalThis as unknown as { shsBundle: PageExports }).shsBundle.pingAndEcho(address, key, protocol, total),
  address, Array.from(networkKey), ECHO_PROTOCOL, ECHO_BYTES)
}

async function failureFromPage (page: Page, address: string, networkKey: Uint8Array): Promise<DialFailure> {
  return await page.evaluate(async (address, key) =>
    await (globalThis as unknown as { shsBundle: PageExports }).shsBundle.dialFailure(address, key),
  address, Array.from(networkKey))
}

describe('shs() in a browser libp2p node (headless Chromium) over @libp2p/websockets', function () {
  this.timeout(120_000)
  let browser: Browser
  let code: string
  const nodes: TestNode[] = []
  const pages: Page[] = []

  /** A Node libp2p node listening on ws://127.0.0.1 with the given network key, and the connections it opened. */
  async function nodeNode (networkKey: Uint8Array): Promise<{ node: TestNode, opened: Connection[] }> {
    const node = await createNode({ encrypters: [shsWith(networkKey)], transport: 'webSockets' })
    nodes.push(node)
    const opened: Connection[] = []
    node.addEventListener('connection:open', (evt) => { opened.push(evt.detail) })
    return { node, opened }
  }

  async function page (): Promise<{ page: Page, errors: string[] }> {
    const opened = await pageWith(browser, code)
    pages.push(opened.page)
    return opened
  }

  before(async () => {
    browser = await launchChromium()
    const built = await bundle('test/browser/libp2p-entry.ts', { source: false, tsconfig: false, minify: true })
    code = built.code
    // The whole page (libp2p, websockets, yamux, ping and shs) must not pull in the native addon or Node modules.
    assert.doesNotMatch(code, /sodium-native|["']node:[a-z_]+["']/)
    console.log(`      libp2p page: ${(built.bytes / 1024).toFixed(0)} KiB minified, ${(built.gzippedBytes / 1024).toFixed(0)} KiB gzipped`)
  })
  afterEach(async () => {
    await Promise.all(pages.splice(0).map(async (opened) => { await opened.close() }))
    await Promise.all(nodes.splice(0).map(async (node) => { await node.stop() }))
  })
  after(async () => { await browser?.close() })

  it('dials a Node node, pings it and echoes 8 MiB, every byte checked; both sides see each other\'s peer id and /shs/1.1.0', async () => {
    const networkKey = randomBytes(32)
    const { node, opened } = await nodeNode(networkKey)
    const { page: tab, errors } = await page()

    const report = await echoFromPage(tab, addressOf(node).toString(), networkKey)

    assert.equal(report.remotePeer, node.peerId.toString(), 'the page reached the peer it dialled')
    assert.equal(report.encryption, SHS_MUXER_PROTOCOL)
    assert.ok(Number.isFinite(report.pingMs) && report.pingMs >= 0)
    assert.equal(report.received, ECHO_BYTES, 'every byte came back')
    assert.equal(report.firstMismatch, -1, 'every byte came back unchanged')
    // One connection for the ping and the echo, which the Node node saw come from the page's peer id.
    assert.deepEqual(opened.map((connection) => [connection.remotePeer.toString(), connection.encryption]),
      [[report.peerId, SHS_MUXER_PROTOCOL]])
    assert.deepEqual(errors, [])
    // The page stopped its node: the Node side sees the connection close.
    await waitUntilDisconnected(node, opened[0]!.remotePeer)
    console.log(`      ping ${report.pingMs.toFixed(1)} ms, 8 MiB echo ${report.echoMs.toFixed(0)} ms`)
  })

  it('a Node node with another network key: the dial fails at the server\'s hello, and no side keeps a connection', async () => {
    const { node, opened } = await nodeNode(randomBytes(32))
    const { page: tab, errors } = await page()

    const failure = await failureFromPage(tab, addressOf(node).toString(), randomBytes(32))

    assert.equal(failure.outcome, 'failed')
    assert.equal(failure.name, 'EncryptionFailedError')
    // libp2p wraps the encrypter's error; ours survives in the message (see the top of this file).
    assert.match(failure.message, /hung up after our first message: wrong network key/)
    assert.equal(failure.connections, 0)
    assert.deepEqual(opened, [])
    assert.equal(node.getConnections().length, 0)
    assert.deepEqual(errors, [])
  })

  it('an address naming another peer id: the handshake proves the listener is not that peer and the dial fails', async () => {
    const networkKey = randomBytes(32)
    const { node, opened } = await nodeNode(networkKey)
    const someoneElse = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const { page: tab, errors } = await page()

    const failure = await failureFromPage(tab, `${withoutPeerId(addressOf(node)).toString()}/p2p/${someoneElse.toString()}`, networkKey)

    assert.equal(failure.outcome, 'failed')
    assert.equal(failure.name, 'EncryptionFailedError')
    assert.match(failure.message, /hung up after our authentication \(message 3\): we dialled it with the wrong server public key/)
    assert.equal(failure.connections, 0)
    assert.deepEqual(opened, [])
    assert.deepEqual(errors, [])
  })
})
