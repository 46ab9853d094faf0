/**
 * What the rekey extension is for, shown the way an attacker would try it: a live TCP connection
 * through a relay that records the ciphertext both ways; at time t a thief takes the keys of the
 * client (through the test-only hook), and a passive observer with those keys and the recording
 * opens what it can. It opens exactly what was sent between t and the next completed rekey, and
 * nothing after it; and keys taken after the rekey open nothing sent before it.
 *
 * The observer is written here from the wire format in docs/REKEY.md, with libsodium alone: it
 * shares no code with the library it observes.
 */
import assert from 'node:assert/strict'
import sodium from 'sodium-native'
import { type SecureStream, connect, listen } from '../../src/index.ts'
import type { SecureStreamDriver } from '../../src/driver/secure-stream.ts'
import { stealKeys } from '../../src/connection/testing.ts'
import { randomPayload } from '../helpers/bytes.ts'
import { useLeakChecks } from '../helpers/resources.ts'
import { clientKeys, networkKey, serverKeys } from './helpers.ts'
import { RecordingRelay } from './relay.ts'

const HEADER = 34
const CONTROL = 0x8000
const SWITCH = 3
const RESPONSE = 2

interface Stolen { key: Uint8Array, nonce: Uint8Array }

function next (nonce: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(nonce)
  for (let i = out.length - 1; i >= 0; i--) { out[i] = ((out[i] as number) + 1) & 0xff; if (out[i] !== 0) break }
  return out
}

interface Observation {
  /** The data packets' plaintext the observer opened, in order. */
  readonly plaintext: Buffer
  /** Control packet types it opened, in order. */
  readonly controls: number[]
  /** Where (offset) and with which nonce each packet it opened started. */
  readonly packets: Array<{ offset: number, nonce: Uint8Array }>
  /** Offset of the first packet it could not open (undefined: it reached the end or a goodbye). */
  readonly stoppedAt: number | undefined
}

/** Opens packets from `offset` on with `keys`, as far as they go. */
function observe (wire: Buffer, offset: number, keys: Stolen): Observation {
  const plaintext: Buffer[] = []
  const controls: number[] = []
  const packets: Array<{ offset: number, nonce: Uint8Array }> = []
  let nonce: Uint8Array = new Uint8Array(keys.nonce)
  while (offset + HEADER <= wire.byteLength) {
    const header = Buffer.alloc(18)
    if (!sodium.crypto_secretbox_open_easy(header, wire.subarray(offset, offset + HEADER), nonce, keys.key)) {
      return { plaintext: Buffer.concat(plaintext), controls, packets, stoppedAt: offset }
    }
    if (header.every((byte) => byte === 0)) break
    packets.push({ offset, nonce })
    const field = header.readUInt16BE(0)
    const length = field & ~CONTROL
    const bodyNonce = next(nonce)
    const body = Buffer.alloc(length)
    assert.ok(sodium.crypto_secretbox_open_detached(body, wire.subarray(offset + HEADER, offset + HEADER + length), header.subarray(2), bodyNonce, keys.key), 'a body under an opened header opens')
    if ((field & CONTROL) !== 0) controls.push(body[0] as number)
    else plaintext.push(body)
    nonce = next(bodyNonce)
    offset += HEADER + length
  }
  return { plaintext: Buffer.concat(plaintext), controls, packets, stoppedAt: undefined }
}

/** Whether `keys` open the header at any packet the first observation found, under its own nonce or any of 64 after `keys.nonce`. */
function opensAny (wire: Buffer, packets: Observation['packets'], keys: Stolen): boolean {
  const header = Buffer.alloc(18)
  for (const packet of packets) {
    let nonce: Uint8Array = new Uint8Array(keys.nonce)
    const nonces = [packet.nonce]
    for (let i = 0; i < 64; i++) { nonces.push(nonce); nonce = next(nonce) }
    for (const candidate of nonces) {
      if (sodium.crypto_secretbox_open_easy(header, wire.subarray(packet.offset, packet.offset + HEADER), candidate, keys.key)) return true
    }
  }
  return false
}

describe('rekey extension: what a thief with the keys reads', function () {
  this.timeout(30_000)
  const onCleanup = useLeakChecks()

  it('keys stolen at t open what was sent from t to the next completed rekey and nothing after; keys stolen after it open nothing before it', async () => {
    const serverStreams: SecureStream[] = []
    const acknowledged: Array<() => void> = []
    const listener = await listen({ port: 0, keys: serverKeys, networkKey, rekey: 'require' }, (stream) => {
      serverStreams.push(stream)
      // The server writes on cue (so the test knows what it sent when), and reads everything.
      const cues: Uint8Array[] = []
      let wake: (() => void) | undefined
      acknowledged.push(() => { wake?.() })
      void stream.sink((async function * () {
        for (;;) {
          await new Promise<void>((resolve) => { wake = resolve })
          const chunk = cues.shift()
          if (chunk === undefined) return
          yield chunk
        }
      })())
      ;(stream as unknown as { cues: Uint8Array[] }).cues = cues
    })
    onCleanup(listener.close)
    const relay = await RecordingRelay.start(listener.address().port)
    onCleanup(async () => { await relay.close() })
    const stream = await connect({ keys: clientKeys, networkKey, remotePublicKey: serverKeys.publicKey, host: '127.0.0.1', port: relay.port, rekey: 'require' })
    const server = serverStreams[0] as SecureStream
    const serverReader = server.source[Symbol.asyncIterator]()
    const serverCue = async (chunk: Uint8Array | undefined): Promise<void> => {
      if (chunk !== undefined) (server as unknown as { cues: Uint8Array[] }).cues.push(chunk)
      acknowledged[0]?.()
    }
    const clientReader = stream.source[Symbol.asyncIterator]()
    let clientWrite: ((chunk: Uint8Array | undefined) => void) | undefined
    const sinking = stream.sink((async function * () {
      for (;;) {
        const chunk = await new Promise<Uint8Array | undefined>((resolve) => { clientWrite = resolve })
        if (chunk === undefined) return
        yield chunk
      }
    })())
    /** Writes `bytes` both ways and waits until each side read all of it: a quiet point on the wire. */
    const exchange = async (bytes: number): Promise<{ up: Uint8Array, down: Uint8Array }> => {
      const up = randomPayload(bytes)
      const down = randomPayload(bytes)
      await new Promise((resolve) => setImmediate(resolve))
      clientWrite?.(up)
      await serverCue(down)
      await readExactly(serverReader, up.byteLength)
      await readExactly(clientReader, down.byteLength)
      return { up, down }
    }

    await exchange(10_000) // before t: not the thief's
    const box = (stream as unknown as SecureStreamDriver).box
    const t = { keys: stealKeys(box), up: relay.bytesToServer, down: relay.toClient.reduce((sum, c) => sum + c.byteLength, 0) }
    const between = await exchange(30_000) // t to the rekey: the thief's
    await stream.rekey()
    assert.equal(server.rekeys, 0, 'the server switches at our SWITCH, which it has not necessarily read yet')
    const after = await exchange(30_000) // after the rekey: not the thief's
    assert.equal(server.rekeys, 1)
    const later = stealKeys(box)
    clientWrite?.(undefined)
    await serverCue(undefined)
    await sinking
    await drainAll(clientReader)
    await drainAll(serverReader)

    const up = Buffer.concat(relay.toServer)
    const down = Buffer.concat(relay.toClient)
    const seenUp = observe(up, t.up, t.keys.encrypt)
    assert.deepEqual(seenUp.controls, [1, SWITCH], 'it sees the request and the switch')
    assert.ok(seenUp.plaintext.equals(Buffer.from(between.up)), 'client to server: exactly what was sent between t and the switch')
    assert.ok(seenUp.stoppedAt !== undefined, 'and the packet after the switch does not open')
    assert.ok(!Buffer.from(seenUp.plaintext).includes(Buffer.from(after.up.subarray(0, 64))))

    const seenDown = observe(down, t.down, t.keys.decrypt)
    assert.deepEqual(seenDown.controls, [RESPONSE], 'server to client: it sees the response, the server\'s switch')
    assert.ok(seenDown.plaintext.equals(Buffer.from(between.down)), 'server to client: exactly what was sent between t and the response')
    assert.ok(seenDown.stoppedAt !== undefined)

    // The keys after the rekey, at every packet the first thief could open: nothing opens.
    assert.equal(opensAny(up, seenUp.packets, later.encrypt), false, 'new sending key opens no packet sent before the rekey')
    assert.equal(opensAny(down, seenDown.packets, later.decrypt), false, 'new receiving key opens no packet received before the rekey')
    // And the test's observer is not simply blind: with the new keys it reads what came after.
    const afterUp = observe(up, seenUp.stoppedAt as number, { key: later.encrypt.key, nonce: firstNonceAfter(up, seenUp.stoppedAt as number, later.encrypt) })
    assert.ok(afterUp.plaintext.subarray(0, after.up.byteLength).equals(Buffer.from(after.up)))
  })
})

/** The nonce the packet at `offset` was sealed with, found by counting back from the stolen one (the thief knows the schedule). */
function firstNonceAfter (wire: Buffer, offset: number, keys: Stolen): Uint8Array {
  const header = Buffer.alloc(18)
  // Packets since the switch: at most a few hundred here; nonces advance by 2 per packet.
  const backwards: Uint8Array[] = []
  let nonce: Uint8Array = new Uint8Array(keys.nonce)
  for (let i = 0; i < 2048; i++) {
    backwards.push(nonce)
    nonce = previous(nonce)
  }
  for (const candidate of backwards) {
    if (sodium.crypto_secretbox_open_easy(header, wire.subarray(offset, offset + HEADER), candidate, keys.key)) return candidate
  }
  throw new Error('no nonce opens the first packet after the switch with the new key')
}

function previous (nonce: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(nonce)
  for (let i = out.length - 1; i >= 0; i--) { const was = out[i] as number; out[i] = (was - 1) & 0xff; if (was !== 0) break }
  return out
}

async function readExactly (reader: AsyncIterator<Uint8Array>, bytes: number): Promise<void> {
  let got = 0
  while (got < bytes) {
    const result = await reader.next()
    if (result.done === true) throw new Error(`the stream ended after ${got} of ${bytes} bytes`)
    got += result.value.byteLength
  }
  assert.equal(got, bytes, 'no more than the exchange')
}

async function drainAll (reader: AsyncIterator<Uint8Array>): Promise<void> {
  for (;;) if ((await reader.next()).done === true) return
}
