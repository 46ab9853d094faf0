/**
 * The package as another project sees it: installed by name (here: linked into a fresh
 * folder's node_modules), imported through its `exports` map from the built dist/, typed.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, mkdir, rm, symlink, writeFile, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

describe('package', function () {
  this.timeout(30_000)
  let folder: string

  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'shs-transport-consumer-'))
    await mkdir(path.join(folder, 'node_modules'))
    await symlink(root, path.join(folder, 'node_modules', 'shs-transport'), 'dir')
  })
  after(async () => { await rm(folder, { recursive: true, force: true }) })

  it('is importable by name from another folder and completes a handshake over TCP', async () => {
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
    assert.deepEqual(modules.filter((url) => /libp2p|yamux|noise/.test(url)), [])
  })

  it('ships type declarations for every export entry', async () => {
    const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, { types?: string, import?: string } | string>, engines: { node: string } }
    assert.match(manifest.engines.node, />=\s*22/)
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue
      assert.ok(target.types !== undefined && target.import !== undefined, `${entry} has types and import`)
      await readFile(path.join(root, target.types))
      await readFile(path.join(root, target.import))
    }
  })
})
