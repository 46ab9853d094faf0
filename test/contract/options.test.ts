/**
 * The caller contract, part one: every option of every entry point, given each hostile value in
 * turn (0, -1, NaN, Infinity, 2^31, '5', {}, null, 1e300), either fails the call at once with the
 * library's typed error naming that option, or is inside the option's documented range and then
 * works. Never an untyped throw, a crash later, a leaked socket or timer, or a call that is
 * accepted and then fails every connection. Run in a child process (test/contract/fuzz/run.ts),
 * so a crash is seen rather than suffered.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'puppeteer-core'
import {
  ConnectionError, InvalidKeyError, MAX_ADDRESS_ALTERNATIVES, SSB_NETWORK_KEY, ShsError, asKeyPair, connect, formatKey, generateKeyPair, listen, listenWebSocket
} from '../../src/index.ts'
import { useLeakChecks } from '../helpers/resources.ts'
import { bundle, launchChromium, pageWith } from '../../scripts/browser/harness.ts'
import type { PageFuzzCase } from '../browser/contract-entry.ts'
import type { CaseResult } from './fuzz/run.ts'

const here = path.dirname(fileURLToPath(import.meta.url))

async function runFuzz (): Promise<CaseResult[]> {
  const child = spawn(process.execPath, ['--conditions=shs-source', path.join(here, 'fuzz', 'run.ts')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => { child.once('close', resolve) })
  assert.equal(code, 0, `the fuzz process failed:\n${stderr}`)
  return (JSON.parse(stdout) as { results: CaseResult[] }).results
}

const describeCase = (result: CaseResult): string => `${result.entry} ${result.option}=${result.value}: ${result.outcome}${result.detail === undefined ? '' : ` (${result.detail})`}`

describe('contract: every option of every entry point, with every hostile value', function () {
  this.timeout(180_000)
  let results: CaseResult[]

  before(async () => { results = await runFuzz() })

  it('tries every entry point, each option with all nine values', () => {
    const entries = new Set(results.map((result) => result.entry))
    assert.ok(entries.size >= 14, `${entries.size} entry points`)
    const perOption = new Map<string, number>()
    for (const result of results) perOption.set(`${result.entry} ${result.option}`, (perOption.get(`${result.entry} ${result.option}`) ?? 0) + 1)
    assert.deepEqual([...perOption].filter(([, count]) => count !== 9), [])
  })

  for (const outcome of ['untyped', 'crash', 'leak', 'broken'] as const) {
    it(`has no ${outcome} case`, () => {
      assert.deepEqual(results.filter((result) => result.outcome === outcome).map(describeCase), [])
    })
  }

  it('accepts exactly the values inside an option\'s documented range, and those work', () => {
    const wrong = results.filter((result) => (result.outcome === 'works') !== result.inRange)
    assert.deepEqual(wrong.map(describeCase), [])
  })

  it('every refusal names the option that was wrong', () => {
    assert.deepEqual(results.filter((result) => result.outcome === 'typed' && result.named !== true).map(describeCase), [])
  })
})

describe('contract: the browser\'s connectWebSocket, every option with every hostile value, in Chromium', function () {
  this.timeout(120_000)
  let browser: Browser
  let cases: PageFuzzCase[]

  before(async () => {
    browser = await launchChromium()
    const { code } = await bundle('test/browser/contract-entry.ts', { globalName: 'shsContract' })
    const { page } = await pageWith(browser, code)
    const serverKeys = generateKeyPair()
    const clientKeys = generateKeyPair()
    const listener = await listenWebSocket({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => { void stream.sink(stream.source) })
    try {
      cases = await page.evaluate(async (...args) => await (globalThis as unknown as { shsContract: typeof import('../browser/contract-entry.ts') }).shsContract.fuzzOptions(...args),
        `ws://127.0.0.1:${listener.address().port}`, Array.from(serverKeys.publicKey),
        { publicKey: Array.from(clientKeys.publicKey), secretKey: Array.from(clientKeys.secretKey) }, Array.from(SSB_NETWORK_KEY))
    } finally {
      await listener.close()
    }
  })
  after(async () => { await browser?.close() })

  it('refuses every hostile value with a typed error naming the option, before any WebSocket is opened', () => {
    assert.equal(cases.length, 12 * 9)
    const wrong = cases.filter((c) => c.outcome !== 'typed' || !c.named || c.socketsOpened > 0)
    assert.deepEqual(wrong.map((c) => `${c.option}=${c.value}: ${c.outcome}${c.named ? '' : ' (unnamed)'}, ${c.socketsOpened} sockets; ${c.detail}`), [])
  })
})

describe('contract: misuse the option ranges do not catch', function () {
  this.timeout(20_000)
  const onCleanup = useLeakChecks()
  const serverKeys = generateKeyPair()

  it('a key pair whose secret key\'s seed derives another public key is refused at the call, naming the option', async () => {
    const other = generateKeyPair()
    // The secret key's second half (a copy of the public key) matches; its seed does not.
    const forged = { publicKey: serverKeys.publicKey, secretKey: new Uint8Array([...other.secretKey.subarray(0, 32), ...serverKeys.publicKey]) }
    assert.throws(() => asKeyPair(forged), (err: unknown) => err instanceof InvalidKeyError && err.option === 'keys' && /seed/.test(err.message))
    await assert.rejects(connect({ host: '127.0.0.1', port: 1, keys: forged, networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey }),
      (err: unknown) => err instanceof InvalidKeyError && err.option === 'keys')
  })

  for (const [name, start] of Object.entries({ listen, listenWebSocket })) {
    it(`${name} on a port in use rejects with a ConnectionError that says so, and nothing crashes`, async () => {
      const taken = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, () => {})
      onCleanup(taken.close)
      await assert.rejects(start({ port: taken.address().port, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, () => {}),
        (err: unknown) => err instanceof ConnectionError && /EADDRINUSE/.test(err.message) && /port is taken/.test(err.message))
    })
  }

  it('connect({ address }) refuses an address of more alternatives than it tries, before dialling any', async () => {
    const alternatives = Array.from({ length: MAX_ADDRESS_ALTERNATIVES + 1 }, (_, i) => `net:127.0.0.1:${i + 1}~shs:${formatKey(serverKeys.publicKey)}`)
    await assert.rejects(connect({ address: alternatives.join(';'), keys: generateKeyPair(), networkKey: SSB_NETWORK_KEY }),
      (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_INVALID_ADDRESS' && err.message.length < 300)
  })
})
