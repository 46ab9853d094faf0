/**
 * `/shs/1.1.0`: the stream muxer agreed inside the handshake. The dialer's muxers ride behind
 * message 3, the listener answers with the first it runs behind message 4; both sides hand the
 * upgrader that muxer, so libp2p needs no negotiation round of its own. No muxer in common, or
 * an upgrader told to skip muxers, leaves it to libp2p; a peer whose muxer message is not one is
 * refused with a typed error; bytes that follow the message are the muxer's.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey, SecuredConnection, StreamMuxerFactory } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { SSB_NETWORK_KEY, SecretHandshake, ShsError } from '../../src/index.ts'
import { SHS_MUXER_PROTOCOL, ShsEncrypter } from '../../src/libp2p/index.ts'

/** A muxer factory that is only ever named: the upgrader would create the muxer from it. */
const factory = (protocol: string): StreamMuxerFactory => ({ protocol, createStreamMuxer: () => { throw new Error('not in this test') } }) as unknown as StreamMuxerFactory

async function party (muxers: readonly string[]): Promise<{ privateKey: PrivateKey, encrypter: ShsEncrypter }> {
  const privateKey = await generateKeyPair('Ed25519')
  const upgrader = { getStreamMuxers: () => new Map(muxers.map((protocol) => [protocol, factory(protocol)])) }
  return { privateKey, encrypter: new ShsEncrypter({ privateKey, logger: defaultLogger(), upgrader }, { networkKey: SSB_NETWORK_KEY }) }
}

async function secure (dialerMuxers: readonly string[], listenerMuxers: readonly string[], skip = false): Promise<[SecuredConnection, SecuredConnection]> {
  const [dialer, listener] = await Promise.all([party(dialerMuxers), party(listenerMuxers)])
  const [rawDialer, rawListener] = multiaddrConnectionPair()
  return await Promise.all([
    dialer.encrypter.secureOutbound(rawDialer, { remotePeer: peerIdFromPrivateKey(listener.privateKey), skipStreamMuxerNegotiation: skip }),
    listener.encrypter.secureInbound(rawListener, { skipStreamMuxerNegotiation: skip })
  ])
}

describe('libp2p /shs/1.1.0: the stream muxer agreed inside the handshake', function () {
  this.timeout(20_000)

  it('is shs()\'s default protocol', async () => {
    assert.equal((await party([])).encrypter.protocol, SHS_MUXER_PROTOCOL)
  })

  it('both sides get the dialer\'s first choice that the listener runs', async () => {
    for (const [dialer, listener, expected] of [
      [['/yamux/1.0.0', '/mplex/6.7.0'], ['/mplex/6.7.0', '/yamux/1.0.0'], '/yamux/1.0.0'],
      [['/yamux/1.0.0', '/mplex/6.7.0'], ['/mplex/6.7.0'], '/mplex/6.7.0']
    ] as const) {
      const [outbound, inbound] = await secure(dialer, listener)
      assert.equal(outbound.streamMuxer?.protocol, expected)
      assert.equal(inbound.streamMuxer?.protocol, expected)
      outbound.connection.abort(new Error('test over'))
      inbound.connection.abort(new Error('test over'))
    }
  })

  it('no muxer in common, or an upgrader told to skip them: no muxer, libp2p decides', async () => {
    for (const [outbound, inbound] of [await secure(['/yamux/1.0.0'], ['/mplex/6.7.0']), await secure(['/yamux/1.0.0'], ['/yamux/1.0.0'], true)]) {
      assert.equal(outbound.streamMuxer, undefined)
      assert.equal(inbound.streamMuxer, undefined)
      outbound.connection.abort(new Error('test over'))
      inbound.connection.abort(new Error('test over'))
    }
  })

  it('bytes the listener sends right after its answer reach the dialer\'s muxer', async () => {
    const [outbound, inbound] = await secure(['/yamux/1.0.0'], ['/yamux/1.0.0'])
    const arrived = new Promise<string>((resolve) => {
      outbound.connection.addEventListener('message', (evt) => { resolve(new TextDecoder().decode(evt.data.subarray())) }, { once: true })
    })
    inbound.connection.send(new TextEncoder().encode('first muxer frame'))
    assert.equal(await arrived, 'first muxer frame')
    outbound.connection.abort(new Error('test over'))
    inbound.connection.abort(new Error('test over'))
  })

  it('a dialer whose muxer message is not one is refused with ERR_SHS_BAD_MUXER_MESSAGE, and hung up on', async () => {
    const listener = await party(['/yamux/1.0.0'])
    const dialerKey = await generateKeyPair('Ed25519')
    const [rawDialer, rawListener] = multiaddrConnectionPair()
    const serving = listener.encrypter.secureInbound(rawListener)
    // Played by hand: SHS1 with a "muxer message" announcing 60 000 bytes behind message 3.
    const machine = SecretHandshake.client({
      keys: { publicKey: dialerKey.publicKey.raw, secretKey: dialerKey.raw },
      networkKey: SSB_NETWORK_KEY,
      remotePublicKey: listener.privateKey.publicKey.raw,
      earlyData: Uint8Array.of(0xea, 0x60)
    })
    const incoming: Uint8Array[] = []
    let wake = (): void => {}
    rawDialer.addEventListener('message', (evt) => { incoming.push(evt.data.subarray()); wake() })
    const read = async (length: number): Promise<Uint8Array> => {
      while (incoming.reduce((sum, chunk) => sum + chunk.byteLength, 0) < length) await new Promise<void>((resolve) => { wake = resolve })
      const all = Buffer.concat(incoming.splice(0))
      if (all.byteLength > length) incoming.push(all.subarray(length))
      return all.subarray(0, length)
    }
    for (let action = machine.next(); action.type !== 'complete'; action = machine.next()) {
      if (action.type === 'write') rawDialer.send(action.bytes)
      else if (action.type === 'read') machine.receive(await read(action.length))
    }
    await assert.rejects(serving, (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_BAD_MUXER_MESSAGE')
    rawDialer.abort(new Error('test over'))
  })
})
