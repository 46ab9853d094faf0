/**
 * The Scuttlebutt helpers against what SSB code writes: ssb-keys objects and secret files,
 * multiserver addresses as multiserver itself parses them.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  InvalidAddressError, InvalidKeyError, formatId, formatMultiserverAddress, formatNetAddress, formatSecretFile,
  formatWsAddress, fromSsbKeys, generateKeyPair, parseEndpoints, parseId, parseMultiserverAddress,
  parseSecretFile, resolveAddress, toSsbKeys
} from '../../src/index.ts'

const require = createRequire(import.meta.url)
const ssbKeys = require('ssb-keys')
const compose = require('multiserver/compose')
const Net = require('multiserver/plugins/net')
const Shs = require('multiserver/plugins/shs')

const keys = generateKeyPair()
const key = Buffer.from(keys.publicKey).toString('base64')

describe('ssb ids', () => {
  it('formats and parses @<base64>.ed25519 as ssb-keys does', () => {
    const theirs = ssbKeys.generate()
    assert.deepEqual(Buffer.from(parseId(theirs.id)), Buffer.from(theirs.public.replace('.ed25519', ''), 'base64'))
    assert.equal(formatId(parseId(theirs.id)), theirs.id)
    assert.deepEqual(parseId(key), keys.publicKey, 'bare base64, as in multiserver addresses')
  })

  it('refuses what is not a key with an InvalidKeyError that names the input', () => {
    assert.throws(() => parseId('@abc.ed25519', 'feed id'), (err: unknown) =>
      err instanceof InvalidKeyError && /feed id is not a Scuttlebutt id/.test(err.message))
  })
})

describe('ssb-keys objects and secret files', () => {
  let dir: string
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'shs-ssb-keys-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('turns an ssb-keys object into our key pair and back', () => {
    const theirs = ssbKeys.generate()
    const ours = fromSsbKeys(theirs)
    assert.deepEqual(toSsbKeys(ours), { curve: theirs.curve, public: theirs.public, private: theirs.private, id: theirs.id })
  })

  it('signs with our key pair in ssb-keys form, and ssb-keys verifies it', () => {
    const signed = ssbKeys.signObj(toSsbKeys(keys), { type: 'test', text: 'hello' })
    assert.equal(ssbKeys.verifyObj(toSsbKeys(keys), signed), true)
  })

  it('writes secret files ssb-keys loads, and loads the ones it writes', async () => {
    const ourFile = join(dir, 'ours')
    await writeFile(ourFile, formatSecretFile(keys))
    assert.equal(ssbKeys.loadSync(ourFile).id, formatId(keys.publicKey))
    const theirFile = join(dir, 'theirs')
    const theirs = ssbKeys.createSync(theirFile)
    assert.equal(formatId(parseSecretFile(await readFile(theirFile, 'utf8')).publicKey), theirs.id)
  })

  it('refuses a secret of another curve or with halves that do not match', () => {
    assert.throws(() => fromSsbKeys({ ...toSsbKeys(keys), curve: 'k256' }), /curve is "k256"/)
    const other = toSsbKeys(generateKeyPair())
    assert.throws(() => fromSsbKeys({ ...toSsbKeys(keys), public: other.public }), /do not belong together/)
  })
})

describe('multiserver addresses', () => {
  it('parses net:HOST:PORT~shs:KEY to what multiserver\'s own net and shs plugins see', () => {
    const address = formatNetAddress({ host: '127.0.0.1', port: 8008 }, keys.publicKey)
    const theirs = compose([Net({}), Shs({ keys: { publicKey: Buffer.from(keys.publicKey), secretKey: Buffer.from(keys.secretKey) }, appKey: Buffer.alloc(32) })]).parse(address)
    const [ours] = parseEndpoints(address)
    assert.equal(ours?.transport, 'net')
    assert.equal(ours?.host, theirs[0].host)
    assert.equal(ours?.port, theirs[0].port)
    assert.deepEqual(Buffer.from(ours?.remotePublicKey ?? []), theirs[1].key)
  })

  it('reads IPv6 hosts written as multiserver writes them, escaped or not', () => {
    for (const address of [`net:::1:8008~shs:${key}`, `net:!:!:1:8008~shs:${key}`, `ws://[::1]:8989~shs:${key}`]) {
      const [endpoint] = parseEndpoints(address)
      assert.equal(endpoint?.host, '::1', address)
    }
    assert.equal(formatWsAddress({ host: '::1', port: 8989 }, keys.publicKey), `ws://[::1]:8989~shs:${key}`)
  })

  it('keeps alternatives in order and says which ones it cannot use and why', () => {
    const resolved = resolveAddress(`onion:abc.onion:8008~shs:${key};ws://a.example:8989~shs:${key};wss://b.example~shs:${key}`)
    assert.match('unusable' in resolved[0]! ? resolved[0].unusable : '', /onion transport/)
    const usable = parseEndpoints(`onion:abc.onion:8008~shs:${key};ws://a.example:8989~shs:${key};wss://b.example~shs:${key}`)
    assert.deepEqual(usable.map((e) => [e.transport, e.host, e.port]), [['ws', 'a.example', 8989], ['ws', 'b.example', 443]])
  })

  it('escapes and unescapes !, :, ; and ~ in data fields as the grammar says', () => {
    const alternatives = [[{ name: 'x', data: ['a;b', 'c~d', 'e:f', 'g!h'] }, { name: 'shs', data: [key] }]]
    const text = formatMultiserverAddress(alternatives)
    assert.equal(text, `x:a!;b:c!~d:e!:f:g!!h~shs:${key}`)
    assert.deepEqual(parseMultiserverAddress(text), alternatives)
  })

  it('reads shs:KEY:SEED as multiserver does: the client authenticates as the seed\'s key pair', () => {
    const seed = Buffer.alloc(32, 7)
    const [endpoint] = parseEndpoints(`net:localhost:8008~shs:${key}:${seed.toString('base64')}`)
    assert.deepEqual(Buffer.from(endpoint?.seed ?? []), seed)
    assert.throws(() => parseEndpoints(`net:localhost:8008~shs:${key}:AAAA`), /seed .* is not 32 bytes/)
  })

  it('refuses addresses it cannot dial with an InvalidAddressError that says why', () => {
    assert.throws(() => parseEndpoints('net:localhost:8008'), (err: unknown) => err instanceof InvalidAddressError && /shs/.test(err.message))
    assert.throws(() => parseEndpoints(`net:localhost:99999~shs:${key}`), /port "99999"/)
    assert.throws(() => parseEndpoints(`net:localhost:8008~shs:${key};`), /empty alternative/)
    assert.throws(() => parseEndpoints(`NET:localhost:8008~shs:${key}`), /protocol named "NET"/)
  })
})
