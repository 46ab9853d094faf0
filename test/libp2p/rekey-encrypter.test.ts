/**
 * The rekey extension's encrypter on its own, over libp2p's in-memory connection pair: what
 * `onSecured` hands out, the rekey counter, a plain SHS1 hello under the extension's id, and the
 * ends of `rekey()`. No sockets: nothing can outlive a test.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { MessageStream, PrivateKey } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { byteStream, multiaddrConnectionPair } from '@libp2p/utils'
import { SecretHandshake, generateKeyPair as shsKeyPair } from '../../src/index.ts'
import { MIN_REKEY_AFTER_MS } from '../../src/handshake/rekey-options.ts'
import { SHS_REKEY_PROTOCOL, ShsEncrypter, type ShsInit, type ShsMessageStream, type ShsSecured } from '../../src/libp2p/index.ts'
import { type CountingCounter, CountingMetrics } from './helpers.ts'

const NETWORK_KEY = randomBytes(32)
const REKEYS_COUNTER = 'libp2p_shs_rekeys_total'

interface Party {
  privateKey: PrivateKey
  encrypter: ShsEncrypter
  metrics: CountingMetrics
  secured: ShsSecured[]
}

async function party (init: ShsInit = {}): Promise<Party> {
  const privateKey = await generateKeyPair('Ed25519')
  const metrics = new CountingMetrics()
  const secured: ShsSecured[] = []
  // /shs-rekey/1.0.0: no muxer message, so the box stream carries only what a test sends.
  const encrypter = new ShsEncrypter({ privateKey, logger: defaultLogger(), metrics }, {
    networkKey: NETWORK_KEY, muxerNegotiation: false, rekey: 'require', onSecured: (s) => { secured.push(s) }, ...init
  })
  return { privateKey, encrypter, metrics, secured }
}

async function securedPair (client: Party, server: Party): Promise<[ShsMessageStream, ShsMessageStream]> {
  const [rawClient, rawServer] = multiaddrConnectionPair()
  await Promise.all([
    client.encrypter.secureOutbound(rawClient, { remotePeer: peerIdFromPrivateKey(server.privateKey) }),
    server.encrypter.secureInbound(rawServer)
  ])
  return [client.secured[0], server.secured[0]].map((side) => (side as ShsSecured).connection) as [ShsMessageStream, ShsMessageStream]
}

/** The next message `stream` delivers. */
async function nextMessage (stream: MessageStream): Promise<Uint8Array> {
  return await new Promise((resolve) => {
    stream.addEventListener('message', (evt) => { resolve(evt.data.subarray()) }, { once: true })
  })
}

describe('shs rekey extension: the encrypter', () => {
  it('hands each secured connection to onSecured, counts completed rekeys in libp2p_shs_rekeys_total on both sides', async () => {
    const client = await party()
    const server = await party()
    assert.equal(client.encrypter.protocol, SHS_REKEY_PROTOCOL)
    const [ours, theirs] = await securedPair(client, server)
    assert.equal(client.secured[0]?.remotePeer.toString(), peerIdFromPrivateKey(server.privateKey).toString())
    assert.equal(server.secured[0]?.remotePeer.toString(), peerIdFromPrivateKey(client.privateKey).toString())
    assert.equal(client.secured[0]?.protocol, SHS_REKEY_PROTOCOL)

    await ours.rekey()
    // Data sent after the rekey resolved follows our SWITCH: once it arrives, the server counted too.
    const arrived = nextMessage(theirs)
    ours.send(Uint8Array.of(1, 2, 3))
    assert.deepEqual([...await arrived], [1, 2, 3])
    assert.deepEqual([ours.rekeys, theirs.rekeys], [1, 1])
    assert.equal(client.metrics.value(REKEYS_COUNTER), 1)
    assert.equal(server.metrics.value(REKEYS_COUNTER), 1)

    await ours.close()
    await assert.rejects(ours.rekey(), { code: 'ERR_BOX_STREAM_CLOSED' }, 'no rekey after our goodbye')
    await assert.rejects(theirs.rekey(), { code: 'ERR_BOX_STREAM_CLOSED' }, 'nor after the peer\'s')
    await theirs.close()
  })

  it(`rekeys on its own after rekey.afterMs (${MIN_REKEY_AFTER_MS} ms), with no data and no rekey() call`, async () => {
    const client = await party({ rekey: { mode: 'require', afterMs: MIN_REKEY_AFTER_MS } })
    const server = await party()
    const [ours, theirs] = await securedPair(client, server)
    const counter = client.metrics.counters.get(REKEYS_COUNTER) as CountingCounter
    const count = counter.increment.bind(counter)
    // The counter's increment is the event: the rekey completed on our side.
    await new Promise<void>((resolve) => { counter.increment = (value) => { count(value); resolve() } })
    assert.equal(ours.rekeys, 1)
    ours.abort(new Error('test over'))
    theirs.abort(new Error('test over'))
  })

  it('refuses a plain SHS1 hello under the extension\'s id with ERR_SHS_REKEY_REQUIRED', async () => {
    const server = await party()
    const [rawClient, rawServer] = multiaddrConnectionPair()
    const serving = server.encrypter.secureInbound(rawServer)
    const plain = SecretHandshake.client({ keys: shsKeyPair(), networkKey: NETWORK_KEY, remotePublicKey: server.privateKey.publicKey.raw })
    const hello = plain.next()
    assert.equal(hello.type, 'write')
    rawClient.send((hello as { bytes: Uint8Array }).bytes)
    await assert.rejects(serving, { code: 'ERR_SHS_REKEY_REQUIRED' })
    // The server hung up: the plain client reads no message 2.
    await assert.rejects(byteStream(rawClient).read({ bytes: 64 }))
    assert.equal(server.secured.length, 0)
  })

  it('an onSecured that throws fails the upgrade with its error and aborts the connection', async () => {
    const refusal = new Error('this app takes no connections today')
    const client = await party({ onSecured: () => { throw refusal } })
    const server = await party()
    const [rawClient, rawServer] = multiaddrConnectionPair()
    const [outbound] = await Promise.allSettled([
      client.encrypter.secureOutbound(rawClient, { remotePeer: peerIdFromPrivateKey(server.privateKey) }),
      server.encrypter.secureInbound(rawServer)
    ])
    assert.deepEqual(outbound, { status: 'rejected', reason: refusal })
    assert.equal(rawClient.status, 'aborted')
  })
})
