/**
 * Docs that are checked against the code: the error codes the docs' tables name are the codes
 * the library has (and every code is in a table), every test SECURITY.md cites exists, and every
 * code block marked `runnable` (```ts runnable, ```js runnable) runs to its end.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const read = async (file: string): Promise<string> => await readFile(path.join(root, file), 'utf8')

async function documents (): Promise<string[]> {
  const pages = (await readdir(path.join(root, 'docs'))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)
  return ['README.md', 'SECURITY.md', ...pages]
}

/** The codes of `ShsErrorCode` (src/errors.ts), and those of the libp2p and conformance errors. */
async function libraryCodes (): Promise<{ shs: Set<string>, all: Set<string> }> {
  const union = async (file: string, type: string): Promise<string[]> => {
    const text = new RegExp(`export type ${type} =([\\s\\S]*?)\\n\\n`).exec(await read(file))?.[1] ?? ''
    return [...text.matchAll(/'(ERR_[A-Z_]+)'/g)].map((match) => match[1] as string)
  }
  const shs = new Set(await union('src/errors.ts', 'ShsErrorCode'))
  const libp2p = [...(await read('src/libp2p/errors.ts')).matchAll(/code = '(ERR_[A-Z_]+)'/g)].map((match) => match[1] as string)
  const conformance = await union('src/conformance/errors.ts', 'ConformanceErrorCode')
  return { shs, all: new Set([...shs, ...libp2p, ...conformance]) }
}

interface Run { code: number | null, stdout: string, stderr: string }

async function run (args: string[], limitMs: number): Promise<Run> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, limitMs)
  const code = await new Promise<number | null>((resolve) => { child.once('close', resolve) })
  clearTimeout(timer)
  return { code, stdout, stderr }
}

describe('docs, checked against the code', function () {
  this.timeout(120_000)

  it('every error code in the docs\' tables is one the library has, and every ShsErrorCode is in a table', async () => {
    const { shs, all } = await libraryCodes()
    assert.ok(shs.size > 20, `read ${shs.size} codes from ShsErrorCode`)
    const inTables = new Map<string, string>()
    for (const document of await documents()) {
      for (const line of (await read(document)).split('\n')) {
        if (!line.startsWith('|')) continue
        for (const match of line.matchAll(/`(ERR_[A-Z_]+)`/g)) inTables.set(match[1] as string, document)
      }
    }
    assert.deepEqual([...inTables].filter(([code]) => !all.has(code)).map(([code, document]) => `${document}: ${code}`), [], 'codes the library does not have')
    assert.deepEqual([...shs].filter((code) => !inTables.has(code)), [], 'codes no table explains')
  })

  it('every test SECURITY.md cites exists (by the file its abbreviation names, and its title)', async () => {
    const security = await read('SECURITY.md')
    // "**adv** = `test/adversarial/*.test.ts`": the abbreviations the page defines.
    const files = new Map([...security.matchAll(/\*\*([a-z]+)\*\*\s*=\s*`([^`]+)`/g)].map((match) => [match[1] as string, match[2] as string]))
    assert.ok(files.size >= 8, `read ${files.size} abbreviations`)
    const titles = new Map(await Promise.all([...files].map(async ([abbreviation, pattern]) => {
      const listed = await run([path.join(root, 'node_modules/mocha/bin/mocha.js'), '--no-config', '--dry-run', '--reporter', 'json',
        '--node-option', 'conditions=shs-source', '--extension', 'ts', pattern], 60_000)
      assert.equal(listed.code, 0, `mocha lists ${pattern}: ${listed.stderr}`)
      const report = JSON.parse(listed.stdout.slice(listed.stdout.indexOf('{'))) as { tests: Array<{ fullTitle: string }> }
      assert.ok(report.tests.length > 0, `${pattern} has tests`)
      return [abbreviation, report.tests.map((test) => test.fullTitle)] as const
    })))
    const missing: string[] = []
    let cited = 0
    // A citation: `abbr: "…words…"`, and further quotes after it in the same list (`, "…"`).
    for (const citation of security.matchAll(/\b([a-z]+): ((?:[^;|\n]*?"(?:[^"\\]|\\.)+"[^;|\n"]*)+)/g)) {
      const list = titles.get(citation[1] as string)
      if (list === undefined) continue
      for (const quote of (citation[2] as string).matchAll(/"((?:[^"\\]|\\.)+)"/g)) {
        cited++
        // A quote may wrap across lines of the page: its line break is a space of the title.
        const parts = (quote[1] as string).replace(/\\(.)/g, '$1').replace(/\s+/g, ' ').split('…').map((part) => part.trim()).filter((part) => part !== '')
        const found = list.some((title) => parts.every((part) => title.includes(part)))
        if (!found) missing.push(`${citation[1] as string}: "${quote[1] as string}"`)
      }
    }
    assert.ok(cited > 40, `${cited} citations read`)
    assert.deepEqual(missing, [])
  })

  it('every code block marked runnable runs to its end and exits 0', async () => {
    // Inside the package (tmp/ is ignored by git and lint), so `import 'shs-transport'` resolves
    // to this package as a self-reference, and its dependencies resolve as they do for it.
    const folder = path.join(root, 'tmp', 'docs-blocks')
    await rm(folder, { recursive: true, force: true })
    await mkdir(folder, { recursive: true })
    const blocks: Array<{ where: string, file: string }> = []
    for (const document of await documents()) {
      const text = await read(document)
      for (const match of text.matchAll(/^```(ts|js) runnable\n([\s\S]*?)^```$/gm)) {
        const line = text.slice(0, match.index).split('\n').length
        const file = path.join(folder, `${document.replace(/[/.]/g, '-')}-${line}.${match[1] === 'ts' ? 'ts' : 'mjs'}`)
        await writeFile(file, match[2] as string)
        blocks.push({ where: `${document}:${line}`, file })
      }
    }
    assert.ok(blocks.length >= 5, `${blocks.length} runnable blocks`)
    const failed: string[] = []
    for (const { where, file } of blocks) {
      const outcome = await run(['--conditions=shs-source', file], 30_000)
      if (outcome.code !== 0) failed.push(`${where} exited ${String(outcome.code)}: ${outcome.stderr.slice(0, 400)}`)
    }
    assert.deepEqual(failed, [])
  })
})
