/** Our end of a box stream in the checks: raw packets out (any length, any order), the peer's opened one by one. */
import { performance } from 'node:perf_hooks'
import type { SessionKeys } from '../handshake/session.ts'
import { type PacketReader, createPacketReader } from './box-reader.ts'
import { PacketSealer } from './packet-sealer.ts'
import type { RawConnection } from './wire/connection.ts'

/** How much we take from the connection at a time. */
const READ_CHUNK_BYTES = 64 * 1024
/** How far past what a check allows we read on, so a report says how much a peer wrongly delivered (a 5000-byte packet). */
const OVERFLOW_SLACK_BYTES = 64 * 1024

export interface Received {
  /** What the peer delivered: at most OVERFLOW_SLACK_BYTES and one read more than the `maxBytes` the check allowed. */
  readonly plaintext: Buffer
  readonly goodbye: boolean
  /** Why its stream stopped authenticating, if it did. */
  readonly error: string | undefined
  /** It sent more than `maxBytes`: the check stopped reading there. */
  readonly overflow: boolean
}

/** What every channel of the checks sends: packets as the check sealed them, and the FIN. */
export class ChannelOut {
  readonly sealer: PacketSealer
  protected readonly connection: RawConnection

  constructor (connection: RawConnection, session: SessionKeys) {
    this.connection = connection
    this.sealer = new PacketSealer(session)
  }

  send (...parts: Uint8Array[]): void {
    this.connection.write(Buffer.concat(parts))
  }

  /**
   * TCP FIN. In the client role we send it right after our goodbye, as the reference and
   * go-secretstream servers do; alone, it is a stream cut without goodbye.
   */
  end (): void {
    this.connection.endWrite()
  }
}

export class BoxChannel extends ChannelOut {
  readonly #reader: PacketReader

  constructor (connection: RawConnection, session: SessionKeys) {
    super(connection, session)
    this.#reader = createPacketReader(session)
  }

  /**
   * What the peer sends until its goodbye, a hang-up, a bad packet, far more than `maxBytes` of
   * plaintext (a check knows how much it may get: an endless stream ends the read soon after),
   * or `timeout` in all (a peer that drips bytes does not extend it).
   */
  async receive (timeout: number, maxBytes: number): Promise<Received> {
    const received: Uint8Array[] = []
    let total = 0
    const deadline = performance.now() + timeout
    let error: string | undefined
    let goodbye = false
    while (!goodbye && error === undefined && total <= maxBytes + OVERFLOW_SLACK_BYTES && performance.now() < deadline) {
      const bytes = await this.connection.readSome(Math.max(1, deadline - performance.now()), READ_CHUNK_BYTES)
      if (bytes.byteLength === 0 && this.connection.hungUp) break
      for (const packet of this.#reader.push(bytes)) {
        if (packet.kind === 'data') {
          received.push(packet.plaintext)
          total += packet.plaintext.byteLength
        } else if (packet.kind === 'goodbye') goodbye = true
        else error = packet.reason
      }
    }
    return { plaintext: Buffer.concat(received), goodbye, error, overflow: total > maxBytes }
  }
}
