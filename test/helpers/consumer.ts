/**
 * A fresh consumer project, outside the checkout, holding what `npm install shs-transport` (and
 * the packages a consumer adds) would put in its node_modules, and nothing of our
 * devDependencies: the packed tarball, unpacked, and every package it depends on, found through
 * the lock file's tree and copied from our node_modules. Only what a type checker reads is copied
 * (package.json files and declarations), so no network and no registry is involved.
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const root = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

interface LockEntry {
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}
interface Lock { packages: Record<string, LockEntry> }

/** Where Node's resolution finds `name` when required from the package at lock key `from` (`''` is our own root). */
function resolveKey (packages: Lock['packages'], from: string, name: string): string | undefined {
  let base = from
  for (;;) {
    const key = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`
    if (packages[key] !== undefined) return key
    if (base === '') return undefined
    const up = base.lastIndexOf('/node_modules/')
    base = up === -1 ? '' : base.slice(0, up)
  }
}

/** What a package needs installed beside it: its dependencies and the peers it does not mark optional. */
function needs (entry: LockEntry): string[] {
  const peers = Object.keys(entry.peerDependencies ?? {}).filter((peer) => entry.peerDependenciesMeta?.[peer]?.optional !== true)
  return [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...peers]
}

/** Every lock key an install of `names` (required from our root) brings in. */
export function closure (lock: Lock, names: readonly string[]): Set<string> {
  const found = new Set<string>()
  const visit = (from: string, name: string): void => {
    const key = resolveKey(lock.packages, from, name)
    // Optional dependencies for other platforms are not installed here either.
    if (key === undefined || found.has(key)) return
    found.add(key)
    for (const next of needs(lock.packages[key] as LockEntry)) visit(key, next)
  }
  for (const name of names) visit('', name)
  return found
}

function isTypeFile (file: string): boolean {
  return path.basename(file) === 'package.json' || /\.d\.[cm]?ts$/.test(file)
}

export interface Consumer {
  dir: string
  /** Runs TypeScript (the repository's compiler) in the consumer folder. */
  tsc (args: readonly string[]): Promise<{ stdout: string, stderr: string }>
  remove (): Promise<void>
}

/**
 * Packs the package (from the dist/ already built), unpacks it into a new temporary project and
 * adds the packages it depends on, plus `extra` (packages a consumer installs beside it).
 */
export async function createConsumer (extra: readonly string[]): Promise<Consumer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'shs-consumer-'))
  try {
    const { stdout } = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root })
    const [packed] = JSON.parse(stdout) as Array<{ filename: string }>
    if (packed === undefined) throw new Error('npm pack --json printed no package')
    const installed = path.join(dir, 'node_modules', 'shs-transport')
    await mkdir(installed, { recursive: true })
    await run('tar', ['-xzf', path.join(dir, packed.filename), '-C', installed, '--strip-components=1'])
    const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
    const lock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as Lock
    for (const key of closure(lock, [...Object.keys(manifest.dependencies ?? {}), ...extra])) {
      await cp(path.join(root, key), path.join(dir, key), {
        recursive: true,
        // Nested node_modules are lock entries of their own, copied when something needs them.
        filter: async (source) => {
          if (path.relative(path.join(root, key), source).split(path.sep).includes('node_modules')) return false
          return isTypeFile(source) || (await stat(source)).isDirectory()
        }
      })
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  // The compiler reads only its own lib files from where it is installed; types come from the consumer.
  const tscPath = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  return {
    dir,
    tsc: async (args) => await run(process.execPath, [tscPath, ...args], { cwd: dir }),
    remove: async () => { await rm(dir, { recursive: true, force: true }) }
  }
}
