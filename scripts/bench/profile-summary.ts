/**
 * Where the time went in a `.cpuprofile` (from `node --cpu-prof`): self time per function and
 * per source file, largest first.
 *
 *   node scripts/bench/profile-summary.ts FILE.cpuprofile [rows]
 */
import { readFile } from 'node:fs/promises'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const DEFAULT_ROWS = 25
const PERCENT = 100
const US_PER_MS = 1000

// Piping into `head` closes stdout early: that is not an error.
process.stdout.on('error', () => { process.exit(0) })

const [file, rowsArg] = process.argv.slice(2)
if (file === undefined) throw new Error('usage: profile-summary.ts FILE.cpuprofile [rows]')
const rows = Number(rowsArg ?? DEFAULT_ROWS)
const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfUs = new Map<number, number>()
profile.samples.forEach((id, index) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0))
})
const total = [...selfUs.values()].reduce((sum, us) => sum + us, 0)

function shortUrl (url: string): string {
  const match = /(?:node_modules\/|\/src\/|\/scripts\/)(.*)$/.exec(url)
  if (match === null) return url === '' ? '(native)' : url
  return url.includes('node_modules/') ? `node_modules/${match[1] ?? ''}` : url.includes('/src/') ? `src/${match[1] ?? ''}` : `scripts/${match[1] ?? ''}`
}

function table (title: string, entries: Map<string, number>): void {
  process.stdout.write(`\n${title}\n`)
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    process.stdout.write(`${(us / total * PERCENT).toFixed(1).padStart(6)}%  ${(us / US_PER_MS).toFixed(0).padStart(7)} ms  ${name}\n`)
  }
}

const functions = new Map<string, number>()
const files = new Map<string, number>()
for (const [id, us] of selfUs) {
  const frame = byId.get(id)?.callFrame
  if (frame === undefined) continue
  const where = shortUrl(frame.url)
  const name = `${frame.functionName === '' ? '(anonymous)' : frame.functionName}  ${where}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`
  functions.set(name, (functions.get(name) ?? 0) + us)
  files.set(where, (files.get(where) ?? 0) + us)
}
process.stdout.write(`${file}: ${(total / US_PER_MS).toFixed(0)} ms sampled\n`)
table('self time by function', functions)
table('self time by file', files)
