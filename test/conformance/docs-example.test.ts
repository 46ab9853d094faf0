/**
 * docs/CONFORMANCE.md's example for another implementation's CI, run as written: saved in a
 * folder of this package (so `shs-transport/conformance` resolves to the built dist/, as it would
 * from node_modules), with `npx shs` pointing at this checkout's CLI, against `shs listen`.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { listChecks } from '../../src/conformance/index.ts'

const run = promisify(execFile)
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const SHS = `"${process.execPath}" "${path.join(ROOT, 'dist', 'cli', 'main.js')}"`

/** The first js block of the section "From code". */
function example (): string {
  const page = readFileSync(path.join(ROOT, 'docs', 'CONFORMANCE.md'), 'utf8')
  const section = page.slice(page.indexOf('## From code'))
  const block = /```js\n([^`]*)```/.exec(section)
  assert.ok(block !== null, 'the section has a js block')
  return block[1] as string
}

describe('docs/CONFORMANCE.md: the CI example', function () {
  this.timeout(120_000)
  let folder: string

  before(async () => {
    await mkdir(path.join(ROOT, 'tmp'), { recursive: true })
    folder = await mkdtemp(path.join(ROOT, 'tmp', 'conformance-example-'))
  })
  after(async () => { await rm(folder, { recursive: true, force: true }) })

  it('runs as written against shs listen: a line per check, the summary, JUnit XML, exit 0', async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'conformance', 'index.js')), 'npm run build made dist/ (npm test does)')
    const code = example()
    assert.match(code, /from 'shs-transport\/conformance'/)
    await writeFile(path.join(folder, 'conformance.mjs'), code.replaceAll('npx shs ', `${SHS} `))
    const { stdout } = await run(process.execPath, ['conformance.mjs'], { cwd: folder, maxBuffer: 1 << 22 })
    const lines = stdout.trim().split('\n')
    assert.equal(lines.length, listChecks().length + 1, stdout)
    // Skipped: bs.half-close-receive (clients only), and rk.peer-starts and rk.crossing: shs listen
    // offers the rekey extension, but with its default triggers starts no rekey of its own within a check.
    assert.match(lines.at(-1) ?? '', /^\d+ passed, 0 failed, 3 skipped$/)
    assert.match(await readFile(path.join(folder, 'conformance.xml'), 'utf8'),
      new RegExp(`<testsuites name="shs conformance" tests="${listChecks().length}" failures="0" errors="0" skipped="3"`))
  })
})
