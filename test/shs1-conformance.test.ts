/**
 * The public SHS1 conformance harness (npm `shs1-test`) against our executables
 * scripts/shs1-server and scripts/shs1-client: 45 cases per role, 20 good handshakes and 25
 * corrupted in five ways, each run as a child process speaking over stdin/stdout.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const harnessDir = path.dirname(require.resolve('shs1-test/package.json'))
const CORRUPTED_CASES_PER_ROLE = 25

interface HarnessRun { code: number | null, stdout: string, stderr: string }

/** The adapters start with `#!/usr/bin/env node`: put this Node (22+) first on their PATH. */
function runHarness (script: string, adapter: string): Promise<HarnessRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` }
    const child = spawn(process.execPath, [path.join(harnessDir, script), path.join(root, 'scripts', adapter)], { env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code, stdout, stderr }) })
  })
}

describe('shs1-test conformance harness', function () {
  this.timeout(120_000)

  for (const [role, script, adapter] of [['server', 'test-server.js', 'shs1-server'], ['client', 'test-client.js', 'shs1-client']] as const) {
    it(`passes all 45 cases in the ${role} role`, async () => {
      const run = await runHarness(script, adapter)
      assert.equal(run.code, 0, `the harness exits with the number of failed cases:\n${run.stdout}`)
      assert.match(run.stdout, new RegExp(`Passed the ${role} test suite`))
      // Each corrupted case must have been refused by our adapter, with a reason on stderr.
      const refusals = run.stderr.split('\n').filter((line) => line.startsWith(`shs1 adapter (${role})`))
      assert.equal(refusals.length, CORRUPTED_CASES_PER_ROLE, run.stderr)
    })
  }
})
