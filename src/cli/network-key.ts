/** `--network-key`: base64 (the way Scuttlebutt configs write it) or hex, 32 bytes either way. */
import { fromString } from 'uint8arrays/from-string'
import { NETWORK_KEY_BYTES, SSB_NETWORK_KEY } from '../index.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'

const HEX_PATTERN = /^[0-9a-fA-F]{64}$/
/** 32 bytes are 43 base64 characters plus one `=` of padding, which some configs omit. */
const BASE64_PATTERN = /^[A-Za-z0-9+/]{43}=?$/

export const SSB_NETWORK_KEY_BASE64 = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

export const NETWORK_KEY_HELP = 'network key, 32 bytes as base64 or hex; peers must use the same one ' +
  `(default: the Secure Scuttlebutt main network, ${SSB_NETWORK_KEY_BASE64})`

export function parseNetworkKey (text: string | undefined): Uint8Array {
  if (text === undefined) return SSB_NETWORK_KEY
  const trimmed = text.trim()
  if (HEX_PATTERN.test(trimmed)) return fromString(trimmed.toLowerCase(), 'base16')
  if (BASE64_PATTERN.test(trimmed)) {
    const bytes = fromString(trimmed.replace(/=$/, ''), 'base64')
    if (bytes.byteLength === NETWORK_KEY_BYTES) return bytes
  }
  throw new CliError(EXIT.USAGE,
    `--network-key must be ${NETWORK_KEY_BYTES} bytes written as base64 (44 characters, like ` +
    `${SSB_NETWORK_KEY_BASE64}) or hex (64 characters); got ${trimmed.length} characters that are neither`)
}
