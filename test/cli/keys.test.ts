import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { generateKeyPair } from '../../src/index.ts'
import { type Sandbox, useSandbox } from './helpers.ts'

const require = createRequire(import.meta.url)
interface SsbKeys {
  id: string
  public: string
  private: string
  curve: string
}
const ssbKeys = require('ssb-keys') as {
  loadSync: (path: string) => SsbKeys
  createSync: (path: string) => SsbKeys
}

const ID_PATTERN = /^@[A-Za-z0-9+/]{43}=\.ed25519$/
const FINGERPRINT_PATTERN = /^fingerprint: \d{5}( \d{5}){7}$/

describe('shs CLI: keygen and id', function () {
  const currentSandbox = useSandbox()
  let sandbox: Sandbox
  beforeEach(() => { sandbox = currentSandbox() })

  it('keygen writes a 0600 ssb-keys file and prints its id; id prints the same id and a fingerprint', async () => {
    const path = sandbox.path('me.secret')
    const keygen = await sandbox.run(['keygen', '--out', path])
    assert.equal(keygen.code, 0, keygen.stderr)
    const id = keygen.stdout.toString('utf8').trim()
    assert.match(id, ID_PATTERN)
    if (process.platform !== 'win32') assert.equal((await stat(path)).mode & 0o777, 0o600)

    const shown = await sandbox.run(['id', '--keys', path])
    assert.equal(shown.code, 0, shown.stderr)
    const [firstLine, secondLine] = shown.stdout.toString('utf8').trim().split('\n')
    assert.equal(firstLine, id)
    assert.match(secondLine ?? '', FINGERPRINT_PATTERN)

    // Someone who only has the id computes the same fingerprint.
    const theirs = await sandbox.run(['id', id])
    assert.equal(theirs.code, 0, theirs.stderr)
    assert.equal(theirs.stdout.toString('utf8'), shown.stdout.toString('utf8'))
  })

  it('writes files that ssb-keys loads, and loads files that ssb-keys wrote', async () => {
    const ours = sandbox.path('ours.secret')
    const keygen = await sandbox.run(['keygen', '--out', ours])
    const loaded = ssbKeys.loadSync(ours)
    assert.equal(loaded.id, keygen.stdout.toString('utf8').trim())
    assert.equal(loaded.curve, 'ed25519')
    assert.match(loaded.private, /\.ed25519$/)

    const theirs = sandbox.path('theirs.secret')
    const created = ssbKeys.createSync(theirs)
    const shown = await sandbox.run(['id', '--keys', theirs])
    assert.equal(shown.code, 0, shown.stderr)
    assert.equal(shown.stdout.toString('utf8').split('\n')[0], created.id)
  })

  it('uses the default key path under the config directory', async () => {
    const keygen = await sandbox.run(['keygen'])
    assert.equal(keygen.code, 0, keygen.stderr)
    assert.match(await readFile(sandbox.path('config/shs/secret'), 'utf8'), /"curve": "ed25519"/)
    const shown = await sandbox.run(['id'])
    assert.equal(shown.stdout.toString('utf8').split('\n')[0], keygen.stdout.toString('utf8').trim())
  })

  it('refuses to overwrite a key file without --force, and replaces it with --force', async () => {
    const path = sandbox.path('me.secret')
    const first = await sandbox.run(['keygen', '--out', path])
    const again = await sandbox.run(['keygen', '--out', path])
    assert.equal(again.code, 3)
    assert.match(again.stderr, /^shs: .*already exists.*--force/)
    assert.equal(again.stderr.trim().split('\n').length, 1, 'one line on stderr')
    assert.equal((await sandbox.run(['id', '--keys', path])).stdout.toString('utf8').split('\n')[0], first.stdout.toString('utf8').trim())

    await writeFile(path, 'left open', { mode: 0o644 })
    const forced = await sandbox.run(['keygen', '--out', path, '--force'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.notEqual(forced.stdout.toString('utf8'), first.stdout.toString('utf8'))
    if (process.platform !== 'win32') assert.equal((await stat(path)).mode & 0o777, 0o600)
  })

  it('explains a missing or malformed key file with exit code 3', async () => {
    const missing = await sandbox.run(['id', '--keys', sandbox.path('nope')])
    assert.equal(missing.code, 3)
    assert.match(missing.stderr, /no secret key file at .*shs keygen/)

    const broken = sandbox.path('broken.secret')
    await writeFile(broken, '# a comment\n{ "curve": "ed25519", "private": "AAAA.ed25519" }\n', { mode: 0o600 })
    const malformed = await sandbox.run(['id', '--keys', broken])
    assert.equal(malformed.code, 3)
    assert.match(malformed.stderr, /not a usable secret key file/)
  })

  it('exits 2 with one line on bad usage, and 0 with examples on --help', async () => {
    const unknown = await sandbox.run(['keygen', '--bogus'])
    assert.equal(unknown.code, 2)
    assert.equal(unknown.stderr.trim().split('\n').length, 1)

    const badKey = await sandbox.run(['connect', '127.0.0.1:1', '--remote', '@nope.ed25519'])
    assert.equal(badKey.code, 2)
    assert.match(badKey.stderr, /--remote is not a Scuttlebutt id/)

    const serverKey = Buffer.from(generateKeyPair().publicKey).toString('base64')
    const badNetworkKey = await sandbox.run(['conformance', `net:127.0.0.1:1~shs:${serverKey}`, '--network-key', 'abc'])
    assert.equal(badNetworkKey.code, 2)
    assert.match(badNetworkKey.stderr, /--network-key must be 32 bytes/)

    for (const command of ['keygen', 'id', 'listen', 'connect', 'conformance']) {
      const help = await sandbox.run([command, '--help'])
      assert.equal(help.code, 0, `${command} --help`)
      assert.match(help.stdout.toString('utf8'), /Examples:/, `${command} --help has examples`)
    }
    const listenHelp = (await sandbox.run(['listen', '--help'])).stdout.toString('utf8')
    assert.match(listenHelp.replace(/\s+/g, ' '), /default: the Secure Scuttlebutt main network/)
  })
})
