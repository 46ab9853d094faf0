/**
 * Our end of a box stream with the rekey extension, in the checks. The peer's packets are opened
 * one at a time, so a check changes its receiving key exactly after a RESPONSE or a SWITCH
 * (docs/REKEY.md, "One rekey") and sees each control packet as the peer sent it; ours are sealed
 * by the check (packet-sealer.ts), bent where it must send what no honest peer would.
 */
import { performance } from 'node:perf_hooks'
import { sodium } from '#crypto-backend'
import { CONTROL_FLAG, HEADER_BYTES, HEADER_PLAINTEXT_BYTES, LENGTH_BYTES, MAX_BODY_BYTES, MAX_CONTROL_BODY_BYTES } from '../boxstream/constants.ts'
import { incrementNonce } from '../boxstream/nonce.ts'
import type { NextKeys } from '../connection/rekey-schedule.ts'
import type { SessionKeys } from '../handshake/session.ts'
import { ChannelOut } from './box-channel.ts'
import type { RawConnection } from './wire/connection.ts'

/** How much we take from the connection at a time. */
const READ_CHUNK_BYTES = 64 * 1024

/** One packet of the peer's, or the end of what it sent. */
export type RekeyPacket =
  | { readonly kind: 'control', readonly body: Uint8Array }
  | { readonly kind: 'goodbye' }
  | { readonly kind: 'bad', readonly reason: string }
  /** It hung up, or sent nothing more before the deadline. */
  | { readonly kind: 'end', readonly hungUp: boolean }

export interface Stop {
  /** The data delivered before `packet`, in order. */
  readonly data: Buffer
  /** The first packet that is not data. */
  readonly packet: RekeyPacket
}

type Opened = RekeyPacket | { readonly kind: 'data', readonly plaintext: Uint8Array }

/** Opens packets from bytes, one per call, by SHS1's rules and the extension's; no I/O. */
class PacketOpener {
  readonly #key: Buffer
  readonly #nonce: Buffer
  #buffer = Buffer.alloc(0)
  #pending: { readonly length: number, readonly mac: Buffer, readonly control: boolean } | undefined
  #done = false

  constructor (session: SessionKeys) {
    this.#key = Buffer.from(session.decryptKey)
    this.#nonce = Buffer.from(session.decryptNonce)
  }

  get done (): boolean {
    return this.#done
  }

  push (bytes: Uint8Array): void {
    this.#buffer = Buffer.concat([this.#buffer, bytes])
  }

  /** The next whole packet, or undefined until more bytes come; nothing after a goodbye or a bad packet. */
  next (): Opened | undefined {
    if (this.#done) return undefined
    if (this.#pending === undefined) {
      if (this.#buffer.byteLength < HEADER_BYTES) return undefined
      const header = Buffer.alloc(HEADER_PLAINTEXT_BYTES)
      const opened = sodium.crypto_secretbox_open_easy(header, this.#take(HEADER_BYTES), this.#nonce, this.#key)
      incrementNonce(this.#nonce)
      if (!opened) return this.#finish({ kind: 'bad', reason: 'a header did not authenticate' })
      if (header.every((byte) => byte === 0)) return this.#finish({ kind: 'goodbye' })
      const announced = header.readUInt16BE(0)
      const control = (announced & CONTROL_FLAG) !== 0
      const length = announced & ~CONTROL_FLAG
      if (control ? length === 0 || length > MAX_CONTROL_BODY_BYTES : length > MAX_BODY_BYTES) {
        return this.#finish({ kind: 'bad', reason: `a ${control ? 'control ' : ''}header announced a body of ${length} bytes` })
      }
      this.#pending = { length, mac: header.subarray(LENGTH_BYTES), control }
    }
    const { length, mac, control } = this.#pending
    if (this.#buffer.byteLength < length) return undefined
    this.#pending = undefined
    const body = Buffer.alloc(length)
    const opened = sodium.crypto_secretbox_open_detached(body, this.#take(length), mac, this.#nonce, this.#key)
    incrementNonce(this.#nonce)
    if (!opened) return this.#finish({ kind: 'bad', reason: `a ${control ? 'control ' : ''}body did not authenticate` })
    return control ? { kind: 'control', body } : { kind: 'data', plaintext: body }
  }

  rekey (derive: (key: Uint8Array) => NextKeys): void {
    const next = derive(this.#key)
    this.#key.set(next.key)
    this.#nonce.set(next.nonce)
  }

  #take (length: number): Buffer {
    const bytes = this.#buffer.subarray(0, length)
    this.#buffer = this.#buffer.subarray(length)
    return bytes
  }

  #finish (packet: RekeyPacket): RekeyPacket {
    this.#done = true
    return packet
  }
}

export class RekeyChannel extends ChannelOut {
  readonly #opener: PacketOpener

  constructor (connection: RawConnection, session: SessionKeys) {
    super(connection, session)
    this.#opener = new PacketOpener(session)
  }

  /** From the packet after the one just read on, the peer's packets open under the key `derive` makes. */
  rekeyReceiving (derive: (key: Uint8Array) => NextKeys): void {
    this.#opener.rekey(derive)
  }

  /**
   * Data until the next packet that is not data, the peer's hang-up, or `timeout` ms. Reads stop
   * past `maxBytes` of data (a check knows how much it may get), which ends the wait as `end`.
   */
  async until (timeout: number, maxBytes: number): Promise<Stop> {
    const deadline = performance.now() + timeout
    const data: Uint8Array[] = []
    let total = 0
    for (;;) {
      const opened = this.#opener.next()
      if (opened?.kind === 'data') {
        data.push(opened.plaintext)
        total += opened.plaintext.byteLength
        if (total > maxBytes) return { data: Buffer.concat(data), packet: { kind: 'end', hungUp: false } }
        continue
      }
      if (opened !== undefined) return { data: Buffer.concat(data), packet: opened }
      if (this.#opener.done) return { data: Buffer.concat(data), packet: { kind: 'end', hungUp: this.connection.hungUp } }
      if (this.connection.hungUp && this.connection.buffered === 0) return { data: Buffer.concat(data), packet: { kind: 'end', hungUp: true } }
      const left = deadline - performance.now()
      if (left <= 0) return { data: Buffer.concat(data), packet: { kind: 'end', hungUp: false } }
      this.#opener.push(await this.connection.readSome(left, READ_CHUNK_BYTES))
    }
  }
}
