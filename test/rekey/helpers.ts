/**
 * Two box streams with the rekey extension, wired by hand: handshakes run in memory, each
 * side's output is held until the test delivers it, so a test decides every interleaving.
 */
import assert from 'node:assert/strict'
import sodium from 'sodium-native'
import { SecretHandshake, type SessionKeys, generateKeyPair } from '../../src/index.ts'
import { BoxStream, type BoxStreamEvent } from '../../src/connection/box-stream.ts'
import { randomBytes } from '../../src/crypto/primitives.ts'

export const clientKeys = generateKeyPair()
export const serverKeys = generateKeyPair()
export const networkKey = randomBytes(32)

export function written (machine: SecretHandshake): Uint8Array {
  const action = machine.next()
  assert.equal(action.type, 'write')
  return (action as { bytes: Uint8Array }).bytes
}

/** Runs both handshakes to the end; throws what the first machine to fail throws. */
export function handshake (client: SecretHandshake, server: SecretHandshake): [SessionKeys, SessionKeys] {
  server.receive(written(client))
  client.receive(written(server))
  server.receive(written(client))
  server.next()
  server.authorize(true)
  client.receive(written(server))
  return [client, server].map((machine) => {
    const action = machine.next()
    assert.equal(action.type, 'complete')
    return (action as { session: SessionKeys }).session
  }) as [SessionKeys, SessionKeys]
}

export interface RekeyInit { client?: unknown, server?: unknown }

/** The two sessions of a handshake between a client and a server with the given `rekey` options. */
export function sessions (rekey: RekeyInit = { client: 'require', server: 'require' }): [SessionKeys, SessionKeys] {
  return handshake(
    SecretHandshake.client({ keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, rekey: rekey.client }),
    SecretHandshake.server({ keys: serverKeys, networkKey, rekey: rekey.server })
  )
}

/** A clock the test moves: milliseconds. */
export class FakeClock {
  time = 0
  readonly now = (): number => this.time
}

/**
 * One side of a hand-wired connection: what it wrote and has not been delivered yet (data and
 * control packets, in the order they were sealed), and what it received.
 */
export class End {
  readonly box: BoxStream
  readonly outbound: Uint8Array[] = []
  readonly received: Uint8Array[] = []
  readonly events: BoxStreamEvent[] = []
  rekeyed = 0

  constructor (box: BoxStream) { this.box = box }

  send (bytes: Uint8Array): void { this.outbound.push(this.box.send(bytes)) }

  rekey (): boolean {
    const request = this.box.rekey()
    if (request === undefined) return false
    this.outbound.push(request)
    return true
  }

  goodbye (): void { this.outbound.push(this.box.goodbye().bytes) }

  /** Feeds `bytes` in and acts on the events as an adapter must: control packets go out at once. */
  receive (bytes: Uint8Array): void {
    for (const event of this.box.receive(bytes)) {
      this.events.push(event)
      if (event.type === 'data') this.received.push(event.plaintext)
      if (event.type === 'write') this.outbound.push(event.bytes)
      if (event.type === 'rekeyed') this.rekeyed++
    }
  }

  get failure (): Error | undefined { return this.box.failure }
}

/** A connected pair over `sessions()`, with the clock both use. */
export function pair (rekey?: RekeyInit, clock = new FakeClock()): { client: End, server: End, clock: FakeClock } {
  const [clientSession, serverSession] = sessions(rekey)
  return {
    client: new End(new BoxStream(clientSession, { now: clock.now })),
    server: new End(new BoxStream(serverSession, { now: clock.now })),
    clock
  }
}

/** Delivers everything `from` has written so far to `to`, as one chunk or byte by byte. */
export function deliver (from: End, to: End, options: { byteByByte?: boolean } = {}): void {
  const chunks = from.outbound.splice(0)
  for (const chunk of chunks) {
    if (options.byteByByte === true) for (let i = 0; i < chunk.byteLength; i++) to.receive(chunk.subarray(i, i + 1))
    else to.receive(chunk)
  }
}

/** Delivers both ways until neither side has anything left to send. */
export function settle (a: End, b: End): void {
  while (a.outbound.length > 0 || b.outbound.length > 0) {
    deliver(a, b)
    deliver(b, a)
  }
}

export function joined (chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) { out.set(chunk, offset); offset += chunk.byteLength }
  return out
}

/**
 * A packet sealed by hand with a stolen key and header nonce (the hostile peer's tool): any
 * length field, any body, so a test can send what our encoder never would.
 */
export function forgePacket (keys: { key: Uint8Array, nonce: Uint8Array }, lengthField: number, body: Uint8Array): Uint8Array {
  const bodyNonce = new Uint8Array(keys.nonce)
  for (let i = bodyNonce.length - 1; i >= 0; i--) { bodyNonce[i] = ((bodyNonce[i] as number) + 1) & 0xff; if (bodyNonce[i] !== 0) break }
  const sealedBody = new Uint8Array(body.byteLength)
  const mac = new Uint8Array(16)
  sodium.crypto_secretbox_detached(sealedBody, mac, body, bodyNonce, keys.key)
  const header = new Uint8Array(18)
  header[0] = lengthField >>> 8
  header[1] = lengthField & 0xff
  header.set(mac, 2)
  const sealedHeader = new Uint8Array(34)
  sodium.crypto_secretbox_easy(sealedHeader, header, keys.nonce, keys.key)
  return joined([sealedHeader, sealedBody])
}
