/**
 * The recorded vectors of docs/rekey-vectors.json: this code still makes exactly them, and they
 * follow docs/REKEY.md. The second part is what another implementation would do: it reads the
 * file with libsodium alone, derives every key by the formulas of the spec, and opens every
 * packet both ways, switching keys at the marked packets.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import sodium from 'sodium-native'
import { VECTORS_PATH, makeVectors } from '../../scripts/rekey-vectors.ts'

interface Pair { publicKey: string, secretKey: string }
interface Vectors {
  networkKey: string
  rekeyNetworkKey: string
  client: Pair
  server: Pair
  handshake: { clientEphemeral: Pair, serverEphemeral: Pair, messages: string[], sessions: Record<'client' | 'server', Record<'encryptKey' | 'encryptNonce' | 'decryptKey' | 'decryptNonce', string>> }
  rekeyKeyPairs: Pair[]
  steps: Array<{ who: string, does: string }>
  wire: { clientToServer: string[], serverToClient: string[] }
}

const recorded = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as Vectors
const bytes = (value: string): Buffer => Buffer.from(value, 'hex')
const text = (value: string): Buffer => Buffer.from(value, 'utf8')

function sha256 (...parts: Uint8Array[]): Buffer {
  const out = Buffer.alloc(32)
  sodium.crypto_hash_sha256(out, Buffer.concat(parts))
  return out
}

function increment (nonce: Buffer): Buffer {
  const out = Buffer.from(nonce)
  for (let i = out.length - 1; i >= 0; i--) { out[i] = ((out[i] as number) + 1) & 0xff; if (out[i] !== 0) break }
  return out
}

/** key' and nonce' of docs/REKEY.md, "Key schedule". */
function schedule (direction: 'c' | 's', key: Buffer, shared: Buffer, initiator: Buffer, responder: Buffer): { key: Buffer, nonce: Buffer } {
  const d = text(direction)
  return {
    key: sha256(text('shs-rekey/1 key'), d, key, shared, initiator, responder),
    nonce: sha256(text('shs-rekey/1 nonce'), d, key, shared, initiator, responder).subarray(0, 24)
  }
}

/** One direction's packets, opened as a stranger would: data, control packets and the goodbye, in order. */
function readDirection (wire: Buffer, start: { key: Buffer, nonce: Buffer }, onControl: (type: number, payload: Buffer) => { key: Buffer, nonce: Buffer } | undefined): { data: Buffer[], controls: number[], goodbye: boolean } {
  let { key, nonce } = start
  const data: Buffer[] = []
  const controls: number[] = []
  let offset = 0
  while (offset < wire.byteLength) {
    const header = Buffer.alloc(18)
    assert.ok(sodium.crypto_secretbox_open_easy(header, wire.subarray(offset, offset + 34), nonce, key), `the header at ${offset} opens`)
    offset += 34
    if (header.every((b) => b === 0)) {
      assert.equal(offset, wire.byteLength, 'nothing after goodbye')
      return { data, controls, goodbye: true }
    }
    const field = header.readUInt16BE(0)
    const length = field & 0x7fff
    const body = Buffer.alloc(length)
    nonce = increment(nonce)
    assert.ok(sodium.crypto_secretbox_open_detached(body, wire.subarray(offset, offset + length), header.subarray(2), nonce, key), `the body at ${offset} opens`)
    nonce = increment(nonce)
    offset += length
    if ((field & 0x8000) === 0) { data.push(body); continue }
    controls.push(body[0] as number)
    const switched = onControl(body[0] as number, body.subarray(1))
    if (switched !== undefined) ({ key, nonce } = switched)
  }
  return { data, controls, goodbye: false }
}

describe('rekey extension: recorded vectors (docs/rekey-vectors.json)', () => {
  it('this code makes exactly the recorded vectors (regenerate with `npm run rekey-vectors` only for a deliberate change of the wire format)', () => {
    assert.deepEqual(makeVectors(), recorded)
  })

  it('K\' is HMAC-SHA-512-256 of "shs-rekey/1" under K, and message 1 is MAC\'d with it', () => {
    const mac = Buffer.alloc(32)
    sodium.crypto_auth(mac, text('shs-rekey/1'), bytes(recorded.networkKey))
    assert.equal(mac.toString('hex'), recorded.rekeyNetworkKey)
    const hello = bytes(recorded.handshake.messages[0] as string)
    assert.ok(sodium.crypto_auth_verify(hello.subarray(0, 32), hello.subarray(32), mac))
    assert.equal(hello.subarray(32).toString('hex'), recorded.handshake.clientEphemeral.publicKey)
  })

  it('a stranger\'s reading of both directions, from the spec alone: every packet opens, keys switch at REQUEST/RESPONSE/SWITCH as specified, and the data is the script\'s', () => {
    const { sessions } = recorded.handshake
    const pairs = recorded.rekeyKeyPairs.map((pair) => ({ publicKey: bytes(pair.publicKey), secretKey: bytes(pair.secretKey) }))
    const dh = (secret: Buffer, pub: Buffer): Buffer => { const out = Buffer.alloc(32); sodium.crypto_scalarmult(out, secret, pub); return out }
    // Each rekey: its initiator's key pair is made first, then the responder's (rekeyKeyPairs is in that order).
    const rekeys: Array<{ shared: Buffer, initiator: Buffer, responder: Buffer }> = []
    for (let i = 0; i < pairs.length; i += 2) {
      const initiator = pairs[i] as { publicKey: Buffer, secretKey: Buffer }
      const responder = pairs[i + 1] as { publicKey: Buffer, secretKey: Buffer }
      const shared = dh(initiator.secretKey, responder.publicKey)
      assert.deepEqual(dh(responder.secretKey, initiator.publicKey), shared, 'both ends get the same X25519 result')
      rekeys.push({ shared, initiator: initiator.publicKey, responder: responder.publicKey })
    }
    /** The control packets one direction carries, and what follows each: the switch to the next key of that direction. */
    const follow = (direction: 'c' | 's', start: { key: Buffer, nonce: Buffer }): (type: number, payload: Buffer) => { key: Buffer, nonce: Buffer } | undefined => {
      let current = start
      /** The rekey this direction's sender started: its REQUEST carried the initiator's key; its SWITCH comes later. */
      let own: (typeof rekeys)[number] | undefined
      return (type, payload) => {
        let rekey: (typeof rekeys)[number] | undefined
        if (type === 1) {
          // A REQUEST carries its sender's fresh key; the sender keeps its sending key until its SWITCH.
          own = rekeys.find((r) => r.initiator.equals(payload))
          assert.ok(own !== undefined, 'a REQUEST carries an initiator\'s recorded key')
          return undefined
        }
        if (type === 2) {
          // A RESPONSE carries the responder's fresh key; everything after it is under the responder's next key.
          rekey = rekeys.find((r) => r.responder.equals(payload))
        } else {
          assert.equal(type, 3)
          assert.equal(payload.byteLength, 0)
          rekey = own
          own = undefined
        }
        assert.ok(rekey !== undefined)
        current = schedule(direction, current.key, rekey.shared, rekey.initiator, rekey.responder)
        return current
      }
    }
    const upStart = { key: bytes(sessions.client.encryptKey), nonce: bytes(sessions.client.encryptNonce) }
    const downStart = { key: bytes(sessions.server.encryptKey), nonce: bytes(sessions.server.encryptNonce) }
    assert.deepEqual(upStart, { key: bytes(sessions.server.decryptKey), nonce: bytes(sessions.server.decryptNonce) })
    const up = readDirection(Buffer.concat(recorded.wire.clientToServer.map(bytes)), upStart, follow('c', upStart))
    const down = readDirection(Buffer.concat(recorded.wire.serverToClient.map(bytes)), downStart, follow('s', downStart))
    assert.deepEqual(up.controls, [1, 3, 2], 'client: its REQUEST, its SWITCH, then its RESPONSE to the server\'s request')
    assert.deepEqual(down.controls, [2, 1, 3], 'server: its RESPONSE, then its own REQUEST and SWITCH')
    assert.ok(up.goodbye && down.goodbye)
    const said = (who: string): string[] => recorded.steps.filter((step) => step.who === who && step.does.startsWith('sends')).map((step) => JSON.parse(step.does.slice('sends '.length)) as string)
    assert.deepEqual(up.data.map((chunk) => chunk.toString()), said('client'))
    assert.deepEqual(down.data.map((chunk) => chunk.toString()), said('server'))
  })
})
