/**
 * Packaging promises of the libp2p entry point: the core import stays free of libp2p, and the
 * default network key is the documented one, distinct from Secure Scuttlebutt's.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { SSB_NETWORK_KEY } from '../../src/index.ts'
import { DEFAULT_LIBP2P_NETWORK_KEY, SHS_PROTOCOL } from '../../src/libp2p/index.ts'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Imports a module in a fresh Node process and lists every package under node_modules it loaded. */
const LIST_LOADED_PACKAGES = `
import { registerHooks } from 'node:module'
const loaded = new Set()
registerHooks({
  resolve (specifier, context, nextResolve) {
    const result = nextResolve(specifier, context)
    const match = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url)
    if (match) loaded.add(match[1])
    return result
  }
})
await import(process.argv[1])
console.log(JSON.stringify([...loaded]))
`

async function packagesLoadedBy (entry: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', LIST_LOADED_PACKAGES, new URL(entry, `file://${ROOT}`).href], { cwd: ROOT })
  return JSON.parse(stdout) as string[]
}

describe('shs-transport/libp2p packaging', function () {
  this.timeout(20_000)

  it('the core import (shs-transport) loads no libp2p package', async () => {
    const core = await packagesLoadedBy('src/index.ts')
    assert.ok(core.includes('sodium-native'), 'the probe sees the core\'s own dependencies')
    assert.deepEqual(core.filter((name) => /libp2p|@chainsafe|@multiformats/.test(name)), [])
  })

  it('the libp2p entry point does load libp2p (the probe can tell)', async () => {
    const entry = await packagesLoadedBy('src/libp2p/index.ts')
    assert.ok(entry.some((name) => name.startsWith('@libp2p/')))
  })

  it('defaults to the documented libp2p network key, which is not Secure Scuttlebutt\'s', () => {
    const documented = createHash('sha256').update('shs-transport: default network key for libp2p /shs/1.0.0').digest()
    assert.ok(documented.equals(DEFAULT_LIBP2P_NETWORK_KEY))
    assert.ok(!Buffer.from(SSB_NETWORK_KEY).equals(DEFAULT_LIBP2P_NETWORK_KEY))
    assert.equal(SHS_PROTOCOL, '/shs/1.0.0')
  })
})
