/**
 * The published declarations resolve in a fresh TypeScript project that checks its libraries
 * (`skipLibCheck: false`), for every subpath: the tarball as `npm pack` makes it, in a folder
 * outside the checkout that holds only what installing it brings (test/helpers/consumer.ts), so
 * none of our devDependencies can fill a gap. A Node project (ESM and CommonJS, and the old
 * node10 resolution) has @types/node as Node projects do; a browser project has no Node types.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { type Consumer, createConsumer } from './helpers/consumer.ts'

/** What a consumer installs beside us: Node's types, and the optional peers shs-transport/libp2p needs. */
const CONSUMER_PACKAGES = ['@types/node', '@libp2p/interface', '@libp2p/crypto', '@libp2p/peer-id', '@libp2p/utils']

const STRICT = { strict: true, noEmit: true, skipLibCheck: false, target: 'es2023', lib: ['es2023'] }

/** Uses one thing from each entry, so each one's declarations are read and checked. */
const NODE_IMPORTS = `
import { connect, generateKeyPair, listenWebSocket, type SecureStream } from 'shs-transport'
import multiserverShs, { PeerGoneError, type ShsPullStream } from 'shs-transport/multiserver'
import secretStackShs from 'shs-transport/secret-stack'
import { toPullDuplex } from 'shs-transport/pull'
export const keys: { publicKey: Uint8Array } = generateKeyPair()
export type Stream = SecureStream | ShsPullStream
export const entries = [connect, listenWebSocket, multiserverShs, PeerGoneError, secretStackShs.init, toPullDuplex]
`

/** require() of the plugins gives the plugin itself (their 'module.exports' export). */
const NODE_REQUIRES = `
import shsTransport = require('shs-transport')
import multiserverShs = require('shs-transport/multiserver')
import secretStackShs = require('shs-transport/secret-stack')
import pull = require('shs-transport/pull')
export const entries = [shsTransport.connect, multiserverShs, secretStackShs.init, pull.toPullDuplex]
`

const LIBP2P_IMPORTS = `
import { shs, SHS_PROTOCOL } from 'shs-transport/libp2p'
export const entries = [shs, SHS_PROTOCOL]
`

const BROWSER_IMPORTS = `
import { connectWebSocket, generateKeyPair, type SecureStream } from 'shs-transport'
export const keys: { publicKey: Uint8Array } = generateKeyPair()
export type Stream = SecureStream
export const entries = [connectWebSocket]
`

/** Code written once against the package, for Node and for a page: it must type-check under both. */
const SAME_CODE = `
import { AllAddressesFailedError, TcpUnavailableError, connect, connectEndpoint, generateKeyPair, parseEndpoints, type ConnectOptions } from 'shs-transport'
import { PeerGoneError, toPullDuplex, type PullDuplex } from 'shs-transport/pull'
export async function dial (address: string, networkKey: Uint8Array): Promise<PullDuplex<Uint8Array>> {
  const options: ConnectOptions = { address, keys: generateKeyPair(), networkKey, timeout: 5000, idleTimeout: 60000 }
  try {
    return toPullDuplex(await connect(options))
  } catch (err) {
    if (err instanceof TcpUnavailableError || err instanceof AllAddressesFailedError) {
      const [first] = parseEndpoints(address)
      if (first !== undefined) return toPullDuplex(await connectEndpoint(first, { keys: generateKeyPair(), networkKey }))
    }
    throw err
  }
}
export const errors = [PeerGoneError]
`

describe('the published types in a fresh TypeScript project (skipLibCheck: false)', function () {
  this.timeout(120_000)
  let consumer: Consumer

  before(async () => {
    consumer = await createConsumer(CONSUMER_PACKAGES)
    await writeFile(path.join(consumer.dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  })
  after(async () => { await consumer?.remove() })

  /** Writes the files and a tsconfig naming them, and type-checks; a failure shows the compiler's output. */
  async function check (name: string, compilerOptions: Record<string, unknown>, files: Record<string, string>): Promise<void> {
    for (const [file, text] of Object.entries(files)) await writeFile(path.join(consumer.dir, file), text)
    const tsconfig = `tsconfig.${name}.json`
    await writeFile(path.join(consumer.dir, tsconfig), JSON.stringify({ compilerOptions, files: Object.keys(files) }))
    const outcome = await consumer.tsc(['--project', tsconfig]).then(() => '', (err: { stdout?: string, stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`)
    assert.equal(outcome, '', `tsc -p ${tsconfig} failed`)
  }

  it('Node, module nodenext: import and require() of the core, multiserver, secret-stack and pull entries', async () => {
    await check('node', { ...STRICT, module: 'nodenext', moduleResolution: 'nodenext' }, {
      'app.mts': NODE_IMPORTS, 'app.cts': NODE_REQUIRES, 'same.mts': SAME_CODE
    })
  })

  it('Node, the old node10 resolution (typesVersions): the core, multiserver, secret-stack and pull entries', async () => {
    await check('node10', { ...STRICT, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, { 'legacy.ts': NODE_IMPORTS })
  })

  it('shs-transport/libp2p, with the DOM lib that js-libp2p\'s own declarations need (EventInit, JsonWebKey)', async () => {
    await check('libp2p', { ...STRICT, module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2023', 'dom'] }, { 'libp2p.mts': LIBP2P_IMPORTS })
  })

  it('a browser bundle (bundler resolution, the browser condition, DOM types and no Node types): the browser and pull entries, and the code Node compiles', async () => {
    await check('browser', {
      ...STRICT, module: 'esnext', moduleResolution: 'bundler', customConditions: ['browser'], lib: ['es2023', 'dom'], types: []
    }, { 'page.ts': BROWSER_IMPORTS, 'same.ts': SAME_CODE })
  })
})
