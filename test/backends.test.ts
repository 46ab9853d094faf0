/**
 * Both crypto backends pass the same checks (the 159 recorded handshake calls and the box-stream
 * known answers): in Node, each in its own child process selected the way users get it (the
 * `browser` import condition picks the portable one), and the portable one in headless Chromium.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Browser } from 'puppeteer-core'
import { measure } from '../scripts/browser/bench-entry.ts'
import { bundle, launchChromium, pageWith } from '../scripts/browser/harness.ts'
import { SHARED_CHECK_COUNT, type SharedCheckReport } from './helpers/shared-checks.ts'

const run = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))
const PORTABLE = '@noble (portable)'
const NATIVE = 'sodium-native'

function assertAllPassed (report: SharedCheckReport, backend: string): void {
  assert.equal(report.backend, backend, 'the conditions selected the expected backend')
  const failures = report.failed.map((f) => `${f.name}: ${f.message}`).join('\n')
  assert.equal(report.failed.length, 0, `failed on ${backend}:\n${failures}`)
  assert.equal(report.passed.length, SHARED_CHECK_COUNT)
}

async function reportInNode (conditions: string[]): Promise<SharedCheckReport> {
  const flags = conditions.flatMap((condition) => ['--conditions', condition])
  const { stdout } = await run(process.execPath, [...flags, path.join(here, 'helpers', 'run-shared-checks.ts')])
  return JSON.parse(stdout) as SharedCheckReport
}

describe('crypto backends: the same vectors and known answers on each', function () {
  it(`sodium-native in Node (${SHARED_CHECK_COUNT} checks)`, async () => {
    assertAllPassed(await reportInNode(['shs-source']), NATIVE)
  })

  it(`the portable backend in Node, selected by the browser condition (${SHARED_CHECK_COUNT} checks)`, async () => {
    assertAllPassed(await reportInNode(['shs-source', 'browser']), PORTABLE)
  })

  it('the bench entry (npm run bench:backends) completes its handshakes and codec rounds (smoke, no timing asserted)', async () => {
    const result = await measure(1)
    assert.equal(result.backend, NATIVE)
    for (const value of [result.sealMBps, result.openMBps, result.handshakeMs]) assert.ok(Number.isFinite(value) && value > 0)
  })

  describe('in headless Chromium', function () {
    let browser: Browser

    before(async () => { browser = await launchChromium() })
    after(async () => { await browser?.close() })

    it(`the portable backend passes (${SHARED_CHECK_COUNT} checks)`, async () => {
      const built = await bundle('test/browser/entry.ts', {
        alias: { 'node:assert/strict': path.join(here, 'browser', 'assert.ts') }
      })
      assert.doesNotMatch(built.code, /sodium-native/, 'the browser bundle holds no trace of the native addon')
      const { page, errors } = await pageWith(browser, built.code)
      const report = await page.evaluate(() => (globalThis as unknown as {
        shsBundle: { runSharedChecks: () => SharedCheckReport }
      }).shsBundle.runSharedChecks())
      assert.deepEqual(errors, [], 'the page threw no errors')
      assert.match(await page.evaluate(() => navigator.userAgent), /HeadlessChrome/)
      assertAllPassed(report, PORTABLE)
    })

    it('a bundler building the published dist/ for the browser gets the portable backend, and it runs', async () => {
      const built = await bundle('test/browser/dist-entry.js', { source: false })
      assert.doesNotMatch(built.code, /sodium-native/)
      const { page, errors } = await pageWith(browser, built.code)
      const [backend, ...lengths] = await page.evaluate(() => {
        const { backendName, generateKeyPair, asKeyPair } = (globalThis as unknown as {
          shsBundle: { backendName: string, generateKeyPair: () => { publicKey: Uint8Array, secretKey: Uint8Array }, asKeyPair: (keys: unknown) => unknown }
        }).shsBundle
        const keys = generateKeyPair()
        asKeyPair(keys)
        return [backendName, keys.publicKey.byteLength, keys.secretKey.byteLength]
      })
      assert.equal(backend, PORTABLE)
      assert.deepEqual(errors, [])
      assert.deepEqual(lengths, [32, 64])
    })
  })
})
