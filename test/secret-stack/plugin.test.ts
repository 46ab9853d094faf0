/** The secret-stack plugin's config handling, next to the stock plugin's, on a stand-in api. */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { formatId, generateKeyPair, toSsbKeys } from '../../src/index.ts'

const require = createRequire(import.meta.url)
const ours = require('shs-transport/secret-stack')
const stock = require('secret-stack/plugins/shs')
/** secret-stack 6 and 7 hand plugins the whole config, flat (no `global`). */
const flatStocks: Record<string, { init: (api: unknown, config: unknown) => void }> = {
  'secret-stack 6': require('secret-stack-6/plugins/shs'),
  'secret-stack 7': require('secret-stack-7/plugins/shs')
}

const CAPS = Buffer.alloc(32, 7).toString('base64')

interface FakeApi { id?: string, publicKey?: string, shs?: { pubkey: string }, transforms: Array<{ name: string, create: () => { stringify: () => string } }> }

function fakeApi (): FakeApi & Record<string, unknown> {
  const api: FakeApi & Record<string, unknown> = { transforms: [] }
  api.auth = (_id: string, cb: () => void) => { cb() }
  api.multiserver = { transform: (transform: FakeApi['transforms'][number]) => { api.transforms.push(transform) } }
  return api
}

function initBoth (config: unknown, theirs = stock): Array<FakeApi | Error> {
  return [theirs, ours].map((plugin) => {
    const api = fakeApi()
    try {
      plugin.init(api, config)
      return api
    } catch (err) {
      return err as Error
    }
  })
}

describe('shs-transport/secret-stack config, as the stock plugin reads it', () => {
  it('has the stock plugin\'s name and version', () => {
    assert.equal(ours.name, stock.name)
    assert.equal(ours.version, stock.version)
  })

  const seed = Buffer.alloc(32, 5)
  const keys = generateKeyPair()
  const cases: Record<string, { config: unknown, id: string }> = {
    'ssb-keys keys and caps.shs': { config: { global: { keys: toSsbKeys(keys), caps: { shs: CAPS } } }, id: formatId(keys.publicKey) },
    'a seed and appKey': { config: { global: { seed, appKey: CAPS } }, id: formatId(generateKeyPair(seed).publicKey) },
    'multiserverShs.cap and .seed': { config: { global: {}, multiserverShs: { cap: CAPS, seed } }, id: formatId(generateKeyPair(seed).publicKey) }
  }
  for (const [name, { config, id }] of Object.entries(cases)) {
    it(`${name}: the same api.id, api.publicKey, api.shs and transform`, () => {
      const [theirs, mine] = initBoth(config) as FakeApi[]
      for (const api of [theirs, mine]) {
        assert.ok(api !== undefined && !(api instanceof Error), String(api))
        assert.equal(api.id, id)
        assert.equal(api.publicKey, id)
        assert.equal(api.shs?.pubkey, id.slice(1, -'.ed25519'.length))
        assert.equal(api.transforms[0]?.name, 'shs')
      }
      assert.equal(mine?.transforms[0]?.create().stringify(), theirs?.transforms[0]?.create().stringify())
    })
  }

  for (const [stack, flatStock] of Object.entries(flatStocks)) {
    it(`${stack}'s flat config (caps.shs or appKey, keys, seed): the same api.id, api.publicKey and transform`, () => {
      for (const config of [{ keys: toSsbKeys(keys), caps: { shs: CAPS } }, { seed, appKey: CAPS }]) {
        const [theirs, mine] = initBoth(config, flatStock) as FakeApi[]
        assert.ok(theirs !== undefined && !(theirs instanceof Error), String(theirs))
        assert.ok(mine !== undefined && !(mine instanceof Error), String(mine))
        const id = config.keys === undefined ? formatId(generateKeyPair(seed).publicKey) : formatId(keys.publicKey)
        for (const api of [theirs, mine]) {
          assert.equal(api.id, id)
          assert.equal(api.publicKey, id)
          assert.equal(api.transforms[0]?.name, 'shs')
        }
        assert.equal(mine.transforms[0]?.create().stringify(), theirs.transforms[0]?.create().stringify())
      }
      const [noCaps, mineNoCaps] = initBoth({ keys: toSsbKeys(keys) }, flatStock)
      assert.ok(noCaps instanceof Error && mineNoCaps instanceof Error)
    })
  }

  it('refuses to start without caps, as the stock plugin does', () => {
    const [theirs, mine] = initBoth({ global: { keys: toSsbKeys(keys) } })
    assert.ok(theirs instanceof Error && mine instanceof Error)
    assert.match(mine.message, /must have caps\.shs configured/)
  })
})
