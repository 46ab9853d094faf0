/**
 * Lab (c): ssb-lan on one LAN (h1 and h1b behind the same router): a secret-stack app on this
 * library's plugin and one on secret-stack's stock shs plugin hear each other's signed
 * announcements and connect to the address announced, each way.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { type LabHost, Roles } from './hosts.ts'
import type { Discovery, EchoCall, SsbReady } from './roles/ssb.ts'

const PORT = 8008
const ECHO_BYTES = 64 * 1024

describe('lab (c): ssb-lan discovery between our plugin and a stock peer on one LAN', function () {
  this.timeout(60_000)
  const roles = new Roles()
  const caps = randomBytes(32).toString('base64')
  let ours: { host: LabHost, ready: SsbReady }
  let stock: { host: LabHost, ready: SsbReady }
  let heardByOurs: Discovery
  let heardByStock: Discovery

  before(async () => {
    [ours, stock] = await Promise.all([
      roles.start<SsbReady>('h1', 'ssb.ts', { shs: 'ours', caps, host: '192.168.1.2', port: PORT, lan: true }),
      roles.start<SsbReady>('h1b', 'ssb.ts', { shs: 'stock', caps, host: '192.168.1.3', port: PORT, lan: true })
    ])
    const key = (id: string): string => id.slice(1, -'.ed25519'.length);
    [heardByOurs, heardByStock] = await Promise.all([
      ours.host.call<Discovery>('discover', { key: key(stock.ready.id) }),
      stock.host.call<Discovery>('discover', { key: key(ours.ready.id) })
    ])
  })

  after(async () => { await roles.stopAll() })

  it('each hears the other\'s signed announcement of its LAN address', () => {
    assert.deepEqual(heardByOurs, { address: stock.ready.address, verified: true })
    assert.deepEqual(heardByStock, { address: ours.ready.address, verified: true })
    assert.match(ours.ready.address, /^net:192\.168\.1\.2:8008~shs:/)
  })

  it('ours connects to the stock peer at the address it heard, and the stock peer to ours', async () => {
    const [oursCalled, stockCalled] = await Promise.all([
      ours.host.call<EchoCall>('echo', { address: heardByOurs.address, bytes: ECHO_BYTES, marker: 'from ours' }),
      stock.host.call<EchoCall>('echo', { address: heardByStock.address, bytes: ECHO_BYTES, marker: 'from stock' })
    ])
    assert.deepEqual(oursCalled, { remoteId: stock.ready.id, bytes: ECHO_BYTES, intact: true })
    assert.deepEqual(stockCalled, { remoteId: ours.ready.id, bytes: ECHO_BYTES, intact: true })
  })
})
