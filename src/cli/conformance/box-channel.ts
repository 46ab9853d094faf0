/** Our end of a box stream in the checks: raw packets out (any length, any order), the peer's opened one by one. */
import type { SessionKeys } from '../../index.ts'
import type { RawConnection } from './raw-connection.ts'
import { PacketOpener, PacketSealer } from './seam.ts'

/** Our end of a box stream on a raw connection: raw packets both ways. */
export class BoxChannel {
  readonly sealer: PacketSealer
  readonly #opener: PacketOpener
  readonly #connection: RawConnection

  constructor (connection: RawConnection, session: SessionKeys) {
    this.#connection = connection
    this.sealer = new PacketSealer(session)
    this.#opener = new PacketOpener(session)
  }

  send (...parts: Uint8Array[]): void {
    this.#connection.write(Buffer.concat(parts))
  }

  /**
   * TCP FIN. In the client role we send it right after our goodbye, as the reference and
   * go-secretstream servers do; alone, it is a stream cut without goodbye.
   */
  end (): void {
    this.#connection.endWrite()
  }

  /** Everything the peer sends until its goodbye, a hang-up, a bad packet or `timeout`. */
  async receive (timeout: number, maxBytes = Infinity): Promise<{ plaintext: Buffer, goodbye: boolean, error: string | undefined }> {
    const received: Uint8Array[] = []
    let total = 0
    const deadline = performance.now() + timeout
    let error: string | undefined
    let goodbye = false
    // With maxBytes, more than that many means a failure already: no need to wait for the rest.
    while (!goodbye && error === undefined && total <= maxBytes && performance.now() < deadline) {
      const bytes = await this.#connection.readSome(Math.max(1, deadline - performance.now()))
      if (bytes.byteLength === 0 && this.#connection.hungUp) break
      for (const packet of this.#opener.push(bytes)) {
        if (packet.kind === 'data') {
          received.push(packet.plaintext)
          total += packet.plaintext.byteLength
        } else if (packet.kind === 'goodbye') goodbye = true
        else error = packet.reason
      }
    }
    return { plaintext: Buffer.concat(received), goodbye, error }
  }
}
