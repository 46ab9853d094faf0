/**
 * A secret-stack app on shs-transport/secret-stack (in a child process where the reference
 * secret-handshake cannot load) and one on the stock secret-stack/plugins/shs of the same version
 * (here) call each other's muxrpc methods both ways, over net: and ws:; refusals and wrong caps
 * fail alike. For secret-stack 8, and for 6 and 7 (ssb-server's era: ssb-room pins 6.3.0).
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { formatId, generateKeyPair } from '../../src/index.ts'
import { AppProcess, CAPS, type InProcessApp, type Version, appConfig, closeInProcess, pick, startInProcess } from './app-process.ts'

const require = createRequire(import.meta.url)
const { exercise, stockShs } = require('../fixtures/ssb-app.cjs')

const OTHER_CAPS = Buffer.alloc(32, 43).toString('base64')
/** MiB each source call carries: the box stream is the same whatever the version, so the older ones carry less. */
const MIB: Record<Version, number> = { 8: 10, 7: 2, 6: 2 }

interface Exercised { remoteId: string, remoteShs: string | undefined, greeting: string, bytes: number, digestMatches: boolean, echoed: string }

/** Our app, in its own process. */
class OurApp extends AppProcess {
  async exercise (address: string, mib: number): Promise<Exercised> {
    return await this.call('exercise', { address, mib }) as Exercised
  }
}

async function startStock (config: Record<string, unknown>): Promise<InProcessApp> {
  return await startInProcess(config, stockShs(config.version))
}

function assertExercised (version: Version, result: Exercised, callerId: string, calleeId: string, mib: number): void {
  assert.equal(result.remoteId, calleeId)
  // secret-stack 6 has no identify(): its connections carry no rpc.shs, whichever plugin runs.
  if (version === 6) assert.equal(result.remoteShs, undefined)
  else assert.equal(`@${result.remoteShs}.ed25519`, calleeId, 'identify() put rpc.shs.pubkey on the connection')
  assert.equal(result.greeting, `hello ${callerId}, this is ${calleeId}`)
  assert.equal(result.bytes, mib * 1024 * 1024)
  assert.equal(result.digestMatches, true, 'the source stream arrived intact and in order')
  assert.equal(result.echoed, 'onetwothree')
}

describe('shs-transport/secret-stack against the stock secret-stack/plugins/shs', function () {
  this.timeout(60_000)

  for (const version of [8, 7, 6] as const) {
    const mib = MIB[version]
    // How the plugin is loaded does not depend on the version: both ways are tried on 8.
    const loaders = version === 8 ? ['cjs', 'esm'] as const : ['cjs'] as const
    for (const loader of loaders) {
      describe(`secret-stack ${version}, our plugin loaded with ${loader === 'cjs' ? 'require' : 'import'}`, () => {
        let ours: OurApp
        let stock: InProcessApp
        const ourKeys = generateKeyPair()

        before(async () => {
          stock = await startStock(await appConfig(version))
          ours = new OurApp(loader)
          await ours.start(await appConfig(version, ourKeys))
        })
        after(async () => {
          await ours?.close()
          if (stock !== undefined) await closeInProcess(stock)
        })

        it('has the same api.id, api.publicKey and api.shs as the stock plugin, and the reference cannot load there', () => {
          assert.equal(ours.started.blocked, true)
          assert.equal(ours.started.id, formatId(ourKeys.publicKey))
          assert.equal(ours.started.publicKey, ours.started.id)
          assert.equal(ours.started.shs, Buffer.from(ourKeys.publicKey).toString('base64'))
          assert.match(ours.started.address, /^net:127\.0\.0\.1:\d+~shs:.+;ws:\/\/127\.0\.0\.1:\d+~shs:/)
        })

        for (const transport of ['net', 'ws'] as const) {
          it(`stock calls ours over ${transport}: async, a ${mib} MiB source, a duplex`, async () => {
            const result = await exercise(stock, pick(ours.started.address, transport), mib) as Exercised
            assertExercised(version, result, stock.id, ours.started.id, mib)
          })

          it(`ours calls stock over ${transport}: async, a ${mib} MiB source, a duplex`, async () => {
            const result = await ours.exercise(pick(stock.getAddress('device'), transport), mib)
            assertExercised(version, result, ours.started.id, stock.id, mib)
          })
        }
      })
    }

    describe(`secret-stack ${version}: refusals and wrong caps fail as with the stock plugin`, () => {
      /** Who refuses whom, and whether the caller's caps differ; the failure the caller sees. */
      async function outcome (serverPlugin: 'ours' | 'stock', refuse: boolean, callerCaps: string): Promise<{ failed: boolean, address: string | undefined }> {
        const callerKeys = generateKeyPair()
        const refused = refuse ? [formatId(callerKeys.publicKey)] : []
        const ours = new OurApp('cjs')
        let stock: InProcessApp | undefined
        try {
          if (serverPlugin === 'ours') {
            const server = await ours.start(await appConfig(version, undefined, CAPS, refused))
            stock = await startStock(await appConfig(version, callerKeys, callerCaps))
            const failure = await exercise(stock, pick(server.address, 'net'), 1).then(() => undefined, (err: Error & { address?: string }) => err)
            return { failed: failure !== undefined, address: failure?.address?.replace(/^net:[^~]+/, 'net:…') }
          }
          stock = await startStock(await appConfig(version, undefined, CAPS, refused))
          await ours.start(await appConfig(version, callerKeys, callerCaps))
          const failure = await ours.exercise(pick(stock.getAddress('device'), 'net'), 1).then(() => undefined, (err: Error & { address?: string }) => err)
          return { failed: failure !== undefined, address: failure?.address?.replace(/^net:[^~]+/, 'net:…') }
        } finally {
          await ours.close()
          if (stock !== undefined) await closeInProcess(stock)
        }
      }

      it('a client the server\'s auth refuses cannot connect, whichever side runs our plugin', async () => {
        const whenOursRefuses = await outcome('ours', true, CAPS)
        const whenStockRefuses = await outcome('stock', true, CAPS)
        assert.deepEqual(whenOursRefuses, { failed: true, address: 'net:…~shs:' })
        assert.deepEqual(whenStockRefuses, whenOursRefuses)
      })

      it('a client with other caps cannot connect, whichever side runs our plugin', async () => {
        const whenOursServes = await outcome('ours', false, OTHER_CAPS)
        const whenStockServes = await outcome('stock', false, OTHER_CAPS)
        assert.deepEqual(whenOursServes, { failed: true, address: 'net:…~shs:' })
        assert.deepEqual(whenStockServes, whenOursServes)
      })
    })
  }
})
