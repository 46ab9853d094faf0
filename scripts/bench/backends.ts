/**
 * npm run bench:backends: the portable crypto backend (the browser build's) against sodium-native:
 * box-stream seal/open throughput on 4 KiB packets and in-memory handshake time, in Node and in
 * headless Chromium, plus the size of the browser build of the core (minified, gzipped).
 *
 * `-- --candidates` also measures the libraries the portable backend was chosen from
 * (libsodium-wrappers, sodium-javascript) in Chromium; sodium-javascript is not a dependency:
 * `npm install --no-save sodium-javascript` first. SHS_BENCH_MS sets each loop's budget.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { bundle, launchChromium, pageWith } from '../browser/harness.ts'
import { measure, type BackendMeasurement } from '../browser/bench-entry.ts'

const run = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))
const DEFAULT_BUDGET_MS = 1500
const budgetMs = Number(process.env.SHS_BENCH_MS ?? DEFAULT_BUDGET_MS)
const withCandidates = process.argv.includes('--candidates')
const KIB = 1024

interface Candidate { label: string, backendModule?: string, alias?: Record<string, string> }
const CANDIDATES: Candidate[] = [
  { label: '@noble (portable, chosen)' },
  {
    label: 'libsodium-wrappers (wasm)',
    backendModule: 'scripts/browser/candidates/libsodium-wrappers.ts',
    // Its ES module build imports a file the package does not ship (0.7.16); the CommonJS build is complete.
    alias: { 'libsodium-wrappers': './node_modules/libsodium-wrappers/dist/modules/libsodium-wrappers.js' }
  },
  { label: 'sodium-javascript', backendModule: 'scripts/browser/candidates/sodium-javascript.ts' }
]

interface Row extends BackendMeasurement { where: string, label: string }

function options (candidate: Candidate): { backendModule?: string, alias?: Record<string, string> } {
  return {
    ...(candidate.backendModule === undefined ? {} : { backendModule: candidate.backendModule }),
    ...(candidate.alias === undefined ? {} : { alias: candidate.alias })
  }
}

async function inChromium (candidate: Candidate): Promise<BackendMeasurement> {
  const built = await bundle('scripts/browser/bench-entry.ts', {
    globalName: 'shsBench',
    ...options(candidate)
  })
  const browser = await launchChromium()
  try {
    const { page, errors } = await pageWith(browser, built.code)
    const result = await page.evaluate(async (ms) => await (globalThis as unknown as {
      shsBench: { measure: (ms: number) => Promise<BackendMeasurement> }
    }).shsBench.measure(ms), budgetMs)
    if (errors.length > 0) throw new Error(`the page threw: ${errors.join('; ')}`)
    return result
  } finally {
    await browser.close()
  }
}

async function portableInNode (): Promise<BackendMeasurement> {
  const child = path.join(here, '..', 'browser', 'bench-child.ts')
  const { stdout } = await run(process.execPath, ['--conditions=shs-source', '--conditions=browser', child, String(budgetMs)])
  return JSON.parse(stdout) as BackendMeasurement
}

async function coreBundleSize (candidate: Candidate): Promise<{ label: string, bytes: number, gzippedBytes: number }> {
  const built = await bundle('scripts/browser/core-entry.ts', {
    minify: true,
    ...options(candidate)
  })
  return { label: candidate.label, bytes: built.bytes, gzippedBytes: built.gzippedBytes }
}

const fixed = (value: number, digits: number): string => value.toFixed(digits)
const ratio = (value: number, base: number): string => `${(value / base).toFixed(2)}×`

const rows: Row[] = []
const native = { where: 'Node', label: 'sodium-native', ...(await measure(budgetMs)) }
rows.push(native)
rows.push({ where: 'Node', label: '@noble (portable)', ...(await portableInNode()) })
const candidates = withCandidates ? CANDIDATES : CANDIDATES.slice(0, 1)
for (const candidate of candidates) rows.push({ where: 'Chromium', label: candidate.label, ...(await inChromium(candidate)) })
const sizes = []
for (const candidate of candidates) sizes.push(await coreBundleSize(candidate))

console.log(`crypto backends (each loop ${budgetMs} ms; ratios against sodium-native in Node; handshake ratio = how many times slower)`)
console.log('| where | backend | seal MB/s | open MB/s | handshake ms | seal | open | handshake |')
console.log('|---|---|---:|---:|---:|---:|---:|---:|')
for (const row of rows) {
  console.log(`| ${row.where} | ${row.label} | ${fixed(row.sealMBps, 0)} | ${fixed(row.openMBps, 0)} | ${fixed(row.handshakeMs, 2)} | ` +
    `${ratio(row.sealMBps, native.sealMBps)} | ${ratio(row.openMBps, native.openMBps)} | ${ratio(row.handshakeMs, native.handshakeMs)} |`)
}
console.log('\nbrowser build of the core (handshake machine, box-stream codecs, keys, backend), esbuild --minify')
console.log('| backend | minified KiB | gzipped KiB |')
console.log('|---|---:|---:|')
for (const size of sizes) console.log(`| ${size.label} | ${fixed(size.bytes / KIB, 1)} | ${fixed(size.gzippedBytes / KIB, 1)} |`)
