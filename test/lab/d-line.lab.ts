/**
 * Lab (d): the far host reaches the public host only through a slow, lossy line (line.py: every
 * frame held DELAY_MS, IPv4 frames dropped at LOSS_PERCENT, each way). This library's client
 * opens 20 echo connections at once to the npm reference server, then moves 16 MiB through it
 * and back; every byte must come back as sent.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Roles, namespace } from './hosts.ts'
import type { LineResult, LineTarget } from './roles/line.ts'
import { deadline } from './roles/serve.ts'

const LINE = join(dirname(fileURLToPath(import.meta.url)), 'line.py')
const DELAY_MS = 20
const LOSS_PERCENT = 2
/** The line stops by itself after this long, whatever happens to the test. */
const LINE_LIMIT_S = 120
const CONNECTIONS = 20
const CONNECTION_BYTES = 64 * 1024
const BULK_BYTES = 16 * 1024 * 1024
const RUN_LIMIT_MS = 100_000
const READY_LIMIT_MS = 5000

interface LineCounts { frames: number, dropped: number, sent: number, send_errors: number, left: number }

/** line.py in the line namespace, between its two ends; `stop` ends it and returns its counts. */
async function startLine (): Promise<{ stop: () => Promise<LineCounts> }> {
  const python = process.env.SHS_LAB_PYTHON ?? 'python3'
  const child: ChildProcess = spawn('ip', ['netns', 'exec', namespace('line'), python, LINE, 'near', 'wan', String(DELAY_MS), String(LOSS_PERCENT), String(LINE_LIMIT_S), '24'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<void>((resolve) => { child.once('close', () => { resolve() }) })
  const ready = deadline(READY_LIMIT_MS, new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', () => { if (stdout.includes('"ready"')) resolve() })
    void exited.then(() => { reject(new Error(`line.py ended at start: ${stderr}`)) })
  }), () => new Error(`line.py not ready after ${READY_LIMIT_MS} ms: ${stderr}`))
  const stop = async (): Promise<LineCounts> => {
    child.kill('SIGTERM')
    await exited
    const last = stdout.trim().split('\n').at(-1) ?? ''
    if (!last.includes('"frames"')) throw new Error(`line.py gave no counts: ${stdout}${stderr}`)
    return JSON.parse(last) as LineCounts
  }
  try {
    await ready
  } catch (err) {
    await stop().catch((stopErr: unknown) => { process.stderr.write(`lab: stopping line.py: ${String(stopErr)}\n`) })
    throw err
  }
  return { stop }
}

describe(`lab (d): ${CONNECTIONS} connections and ${BULK_BYTES / 1024 / 1024} MiB through a line with ${DELAY_MS} ms delay and ${LOSS_PERCENT}% loss each way`, function () {
  this.timeout(RUN_LIMIT_MS + 20_000)
  const roles = new Roles()
  let line: { stop: () => Promise<LineCounts> } | undefined
  let result: LineResult
  let counts: LineCounts

  before(async () => {
    line = await startLine()
    const server = await roles.start<LineTarget>('pub', 'line.ts', { side: 'server', host: '10.200.0.10' })
    const client = await roles.start<Record<string, never>>('far', 'line.ts', { side: 'client' })
    result = await client.host.call<LineResult>('run', { target: server.ready, connections: CONNECTIONS, connectionBytes: CONNECTION_BYTES, bulkBytes: BULK_BYTES }, RUN_LIMIT_MS)
    counts = await line.stop()
    line = undefined
  })

  after(async () => {
    await roles.stopAll()
    if (line !== undefined) await line.stop()
  })

  it(`all ${CONNECTIONS} echo connections (to the npm reference server) come back byte for byte`, () => {
    assert.deepEqual(result.connections, Array.from({ length: CONNECTIONS }, () => ({ bytes: CONNECTION_BYTES, intact: true })))
  })

  it('16 MiB there and back come back byte for byte', () => {
    assert.deepEqual(result.bulk, { bytes: BULK_BYTES, intact: true })
  })

  it('the line carried it all, and did lose frames on the way', () => {
    assert.ok(counts.frames > 2 * BULK_BYTES / 1500, `${counts.frames} frames`)
    assert.ok(counts.dropped > 0, 'the loss was real')
    assert.equal(counts.frames, counts.dropped + counts.sent + counts.send_errors + counts.left, 'every frame is accounted for')
  })
})
