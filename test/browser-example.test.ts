/**
 * The example page (examples/browser/, `npm run example:browser`) in headless Chromium: it
 * loads, completes a handshake with the local echo server and shows both identities, the
 * handshake time and the message echoed. The screenshot is kept in test-artefacts/.
 */
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'puppeteer-core'
import { launchChromium } from '../scripts/browser/harness.ts'
import { type Example, startExample } from '../examples/browser/serve.ts'

const ARTEFACTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test-artefacts')
const ID = /^@[A-Za-z0-9+/]{43}=\.ed25519/

describe('the browser example page in headless Chromium', function () {
  this.timeout(60_000)
  let browser: Browser
  let example: Example

  before(async () => {
    [browser, example] = await Promise.all([launchChromium(), startExample()])
  })
  after(async () => {
    await browser?.close()
    await example?.close()
  })

  it('completes a handshake with the local server and shows both identities, the handshake time and the echoed message', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => { errors.push(String(err)) })
    await page.setViewport({ width: 900, height: 560 })
    await page.goto(example.url)
    // The page marks the status once it is done either way: wait for that, not for a time.
    await page.waitForSelector('#status.ok, #status.failed')
    const text = async (id: string): Promise<string> => await page.$eval(`#${id}`, (element) => element.textContent ?? '')

    await mkdir(ARTEFACTS, { recursive: true })
    await page.screenshot({ path: path.join(ARTEFACTS, 'browser-example.png') })

    assert.equal(await text('status'), 'Handshake complete, message echoed.')
    assert.match(await text('client'), ID)
    assert.notEqual(await text('client'), example.serverId)
    assert.equal(await text('server'), example.serverId)
    assert.match(await text('address'), /^ws:\/\/127\.0\.0\.1:\d+$/)
    assert.match(await text('handshake'), new RegExp(`^\\d+\\.\\d ms, server proved ${example.serverId.replace(/[+.]/g, '\\$&')}$`))
    const sent = await text('sent')
    assert.match(sent, /^hello over the secret handshake, sent at /)
    assert.equal(await text('echoed'), sent)
    assert.deepEqual(errors, [])
    await page.close()
  })
})
