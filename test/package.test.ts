/**
 * The package as another project gets it: `npm pack`ed (from the dist/ that `npm test` just
 * built), unpacked into a consumer folder's node_modules, then imported and required by name
 * through its `exports` map, and type-checked under both module resolutions.
 *
 * The consumer folder sits under the repo's ignored tmp/ so that the package's own dependencies
 * resolve from the repo's node_modules, as they would from the consumer's after an install.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const rootUrl = pathToFileURL(root).href
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

interface PackedFile { path: string }
interface Manifest {
  exports: Record<string, { types?: string, default?: string, browser?: { types?: string, default?: string } } | string>
  engines: { node: string }
  scripts?: Record<string, string>
  license: string
  repository?: { url: string }
  bugs?: { url: string }
  homepage?: string
}

describe('package', function () {
  this.timeout(60_000)
  let folder: string
  let installed: string
  let files: string[]

  before(async () => {
    await mkdir(path.join(root, 'tmp'), { recursive: true })
    folder = await mkdtemp(path.join(root, 'tmp', 'consumer-'))
    installed = path.join(folder, 'node_modules', 'shs-transport')
    await mkdir(installed, { recursive: true })
    // --ignore-scripts: `npm test` built dist/ already; prepack would only build it again.
    const { stdout } = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', folder], { cwd: root })
    const [packed] = JSON.parse(stdout) as Array<{ filename: string, files: PackedFile[] }>
    assert.ok(packed !== undefined)
    files = packed.files.map((file) => file.path)
    await run('tar', ['-xzf', path.join(folder, packed.filename), '-C', installed, '--strip-components=1'])
  })
  after(async () => { await rm(folder, { recursive: true, force: true }) })

  describe('the tarball', () => {
    it('has the licence, the changelog, the security policy and the docs', () => {
      for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md', 'SECURITY.md', 'package.json', 'docs/PERFORMANCE.md']) {
        assert.ok(files.includes(file), `${file} is shipped`)
      }
    })

    it('has the built library and CLI with their declarations, and no tests or TypeScript sources', () => {
      for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/libp2p/index.js', 'dist/libp2p/index.d.ts', 'dist/cli/main.js']) {
        assert.ok(files.includes(file), `${file} is shipped`)
      }
      assert.deepEqual(files.filter((file) => file.startsWith('test/') || file.startsWith('src/') || /(?<!\.d)\.ts$/.test(file)), [])
    })

    it('ships no source map, so none can point at a file the tarball lacks', () => {
      assert.deepEqual(files.filter((file) => file.endsWith('.map')), [])
    })

    it('runs nothing when installed: no install script, the build runs on prepack', async () => {
      const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as Manifest
      for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(manifest.scripts?.[hook], undefined, hook)
      assert.equal(manifest.scripts?.prepack, 'npm run build')
    })

    it('says where the project lives, where to report bugs, and its licence', async () => {
      const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as Manifest
      assert.equal(manifest.license, 'MIT')
      assert.match(await readFile(path.join(installed, 'LICENSE'), 'utf8'), /^MIT License/)
      assert.match(manifest.repository?.url ?? '', /^git\+https:\/\//)
      assert.match(manifest.bugs?.url ?? '', /^https:\/\/.*\/issues$/)
      assert.match(manifest.homepage ?? '', /^https:\/\//)
    })
  })

  it('every export entry has types and a default condition (and the browser entry its own) that exist in the tarball', async () => {
    const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as Manifest
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue
      assert.ok(target.types !== undefined && target.default !== undefined, `${entry} has types and default`)
      assert.ok(files.includes(path.posix.normalize(target.types)), `${target.types} is shipped`)
      assert.ok(files.includes(path.posix.normalize(target.default)), `${target.default} is shipped`)
      if (target.browser === undefined) continue
      const { types, default: main } = target.browser
      assert.ok(types !== undefined && main !== undefined, `${entry} has browser types and default`)
      assert.ok(files.includes(path.posix.normalize(types)) && files.includes(path.posix.normalize(main)), `${main} and ${types} are shipped`)
    }
  })

  it('admits only Node releases that run the TypeScript examples as they are, starting at the floors CI runs them on', async () => {
    const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as Manifest
    // Type stripping is on by default from Node 22.18.0 and 23.6.0 (docs/RUNTIMES.md).
    assert.equal(manifest.engines.node, '^22.18.0 || >=23.6.0')
    const floors = [...manifest.engines.node.matchAll(/(\d+\.\d+\.\d+)/g)].map((match) => match[1])
    const ci = await readFile(path.join(root, '.ci', 'run'), 'utf8')
    assert.deepEqual(/^NODE_FLOORS=\(([^)]*)\)$/m.exec(ci)?.[1]?.split(' '), floors, '.ci/run runs the examples on each floor')
    const runtimes = await readFile(path.join(root, 'docs', 'RUNTIMES.md'), 'utf8')
    for (const floor of floors) assert.ok(runtimes.includes(floor as string), `docs/RUNTIMES.md names ${floor}`)
  })

  it('is importable by name and completes a handshake over TCP', async () => {
    const script = path.join(folder, 'consumer.mjs')
    await writeFile(script, `
      import { generateKeyPair, connect, listen, SSB_NETWORK_KEY } from 'shs-transport'
      const server = generateKeyPair(), client = generateKeyPair()
      const listener = await listen({ port: 0, keys: server, networkKey: SSB_NETWORK_KEY }, (s) => { s.sink(s.source) })
      const stream = await connect({ host: '127.0.0.1', port: listener.address().port, keys: client, remotePublicKey: server.publicKey, networkKey: SSB_NETWORK_KEY })
      const sent = stream.sink([new TextEncoder().encode('ping')])
      let reply = ''
      for await (const chunk of stream.source) reply += new TextDecoder().decode(chunk)
      await sent
      await listener.close()
      console.log(reply)
    `)
    const { stdout } = await run(process.execPath, [script], { cwd: folder })
    assert.equal(stdout.trim(), 'ping')
  })

  it('works with require() (require(esm), on every Node that engines admits): the core and shs-transport/libp2p', async () => {
    const script = path.join(folder, 'consumer.cjs')
    await writeFile(script, `
      const { generateKeyPair, SecretHandshake } = require('shs-transport')
      const { shs, SHS_PROTOCOL } = require('shs-transport/libp2p')
      const keys = generateKeyPair(new Uint8Array(32))
      console.log(JSON.stringify({ publicKey: keys.publicKey.length, machine: typeof SecretHandshake, shs: typeof shs, protocol: SHS_PROTOCOL }))
    `)
    // Node 22 before 22.12 and 20 warn that require(esm) is experimental: the test runs on the pinned Node 24.
    const { stdout, stderr } = await run(process.execPath, [script], { cwd: folder })
    assert.deepEqual(JSON.parse(stdout), { publicKey: 32, machine: 'function', shs: 'function', protocol: '/shs/1.0.0' })
    assert.equal(stderr, '', 'no experimental-feature warning')
  })

  it('type-checks for an ESM importer, a CommonJS require() and the old node10 resolution', async () => {
    await writeFile(path.join(folder, 'esm.mts'), `
      import { generateKeyPair, type SecureStream } from 'shs-transport'
      import { shs } from 'shs-transport/libp2p'
      export const keys: { publicKey: Uint8Array } = generateKeyPair()
      export type S = SecureStream
      export const encrypter: (components: never) => { protocol: string } = shs()
    `)
    await writeFile(path.join(folder, 'cjs.cts'), `
      import shsTransport = require('shs-transport')
      import libp2p = require('shs-transport/libp2p')
      export const keys: { publicKey: Uint8Array } = shsTransport.generateKeyPair()
      export const protocol: string = libp2p.SHS_PROTOCOL
    `)
    await writeFile(path.join(folder, 'node10.ts'), `
      import { generateKeyPair } from 'shs-transport'
      import { SHS_PROTOCOL } from 'shs-transport/libp2p'
      export const keys: { publicKey: Uint8Array } = generateKeyPair()
      export const protocol: string = SHS_PROTOCOL
    `)
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const common = ['--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(root, 'node_modules', '@types')]
    await run(process.execPath, [tsc, ...common, '--module', 'nodenext', '--moduleResolution', 'nodenext', 'esm.mts', 'cjs.cts'], { cwd: folder })
    await run(process.execPath, [tsc, ...common, '--module', 'commonjs', '--moduleResolution', 'node10', 'node10.ts'], { cwd: folder })
  })

  it('does not load libp2p when the core is imported', async () => {
    // A resolve hook records every module the import pulls in.
    const hook = path.join(folder, 'record-modules.mjs')
    await writeFile(hook, `
      import { registerHooks } from 'node:module'
      const resolved = []
      registerHooks({ resolve (specifier, context, next) { const result = next(specifier, context); resolved.push(result.url); return result } })
      process.on('exit', () => { process.stdout.write(JSON.stringify(resolved)) })
    `)
    const script = path.join(folder, 'core-only.mjs')
    await writeFile(script, "import 'shs-transport'\n")
    const { stdout } = await run(process.execPath, ['--import', hook, script], { cwd: folder })
    const modules = JSON.parse(stdout) as string[]
    assert.ok(modules.some((url) => url.includes('sodium-native')), 'the hook saw the core load its dependencies')
    // Only the part below the checkout counts: its own folder's name may contain 'libp2p'.
    const inCheckout = modules.map((url) => url.startsWith(rootUrl) ? url.slice(rootUrl.length) : url)
    assert.deepEqual(inCheckout.filter((url) => /libp2p|yamux|noise/.test(url)), [])
  })
})
