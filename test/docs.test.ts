/**
 * The documents people land on: the README stays a front page with the two quick-start
 * commands, and no relative link in README, SECURITY, CHANGELOG or docs/ points nowhere
 * (the guides moved to docs/, so a stale link would otherwise go unnoticed).
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
/** A front page read in five minutes. */
const README_MAX_LINES = 120

const read = (file: string): string => readFileSync(path.join(root, file), 'utf8')

describe('docs', () => {
  it('the README quick start is exactly the two commands: install + demo, install + test', () => {
    const quickStart = /## Quick start\n\n```sh\n([^`]*)```/.exec(read('README.md'))
    assert.ok(quickStart !== null, 'the README has a Quick start with one sh block')
    assert.deepEqual(quickStart[1]?.trimEnd().split('\n'), ['npm install && npm run demo', 'npm install && npm test'])
  })

  it('every npm script that runs this repository\'s TypeScript works before a build: it resolves the crypto backend from src/', () => {
    // package.json's #crypto-backend points at dist/ unless the shs-source condition is set, and
    // dist/ exists only after `npm test` or `npm run build`: `npm install && npm run demo` on a
    // fresh clone would fail to load the backend. (.mocharc.cjs sets the condition for npm test.)
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts
    const runsTypeScript = Object.entries(scripts).filter(([, command]) => /^(node|mocha)\b[^&|;]*\.ts\b/.test(command))
    assert.ok(runsTypeScript.some(([name]) => name === 'demo'), 'the demo is among them')
    const withoutSource = runsTypeScript
      .filter(([, command]) => !/--conditions=shs-source|--node-option conditions=shs-source/.test(command))
      .map(([name]) => name)
    assert.deepEqual(withoutSource, [])
  })

  it(`the README is a front page: at most ${README_MAX_LINES} lines, linking every guide in docs/`, () => {
    const readme = read('README.md')
    assert.ok(readme.split('\n').length <= README_MAX_LINES, `${readme.split('\n').length} lines`)
    for (const page of readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md'))) {
      assert.ok(readme.includes(`](docs/${page})`), `README links docs/${page}`)
    }
  })

  it('every relative link points at a file of the repo', () => {
    const documents = ['README.md', 'SECURITY.md', 'CHANGELOG.md', ...readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)]
    const broken: string[] = []
    for (const document of documents) {
      for (const match of read(document).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (match[1] as string).split('#')[0] as string
        if (target === '' || /^[a-z]+:/.test(target)) continue
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(document), target))
        if (!existsSync(path.join(root, file))) broken.push(`${document} → ${target}`)
      }
    }
    assert.deepEqual(broken, [])
  })
})
