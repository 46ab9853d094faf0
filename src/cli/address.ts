/**
 * Where to connect and where to listen. Remote addresses are Scuttlebutt multiserver addresses
 * (`net:HOST:PORT~shs:<base64 key>`, the form SSB pubs publish) or `HOST:PORT` with `--remote`.
 */
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'
import { formatId, parseId } from './identity.ts'
export { formatHostPort } from '../index.ts'

export interface HostPort {
  host: string
  port: number
}

export interface RemoteAddress extends HostPort {
  /** The server's long-term public key: SHS servers answer only callers who know it. */
  remotePublicKey: Uint8Array
}

const MAX_PORT = 65_535
const DEFAULT_LISTEN_HOST = '127.0.0.1'

/** ADDRESS of `connect` and `conformance`, with the optional `--remote ID`. */
export function parseRemoteAddress (address: string, remote: string | undefined): RemoteAddress {
  const trimmed = address.trim()
  const fromFlag = remote === undefined ? undefined : parseId(remote, '--remote')
  const parsed = trimmed.includes('~') || trimmed.startsWith('net:')
    ? parseMultiserver(trimmed)
    : { ...parseHostPort(trimmed, undefined, 'ADDRESS'), remotePublicKey: undefined }
  if (parsed.port === 0) throw new CliError(EXIT.USAGE, 'ADDRESS has port 0: give the port the server listens on')
  const { remotePublicKey } = parsed
  if (remotePublicKey !== undefined && fromFlag !== undefined && formatId(fromFlag) !== formatId(remotePublicKey)) {
    throw new CliError(EXIT.USAGE, 'ADDRESS names a server key and --remote names another: drop one of them')
  }
  const key = remotePublicKey ?? fromFlag
  if (key === undefined) {
    throw new CliError(EXIT.USAGE, `"${trimmed}" does not say which server key to expect: use a multiserver ` +
      'address net:HOST:PORT~shs:KEY (as "shs listen" prints it), or add --remote @KEY.ed25519')
  }
  return { host: parsed.host, port: parsed.port, remotePublicKey: key }
}

/**
 * A multiserver address may list several ways to reach a peer, separated by `;`, each a chain
 * of `~`-separated protocols; we can use the first `net:` one, with or without its `~shs:KEY`.
 */
function parseMultiserver (address: string): HostPort & { remotePublicKey: Uint8Array | undefined } {
  for (const alternative of address.split(';')) {
    const [transport, secure, ...rest] = alternative.split('~')
    if (transport === undefined || !transport.startsWith('net:')) continue
    const hostPort = parseHostPort(transport.slice('net:'.length), undefined, 'ADDRESS')
    if (secure === undefined) return { ...hostPort, remotePublicKey: undefined }
    if (!secure.startsWith('shs:') || rest.length > 0) {
      throw new CliError(EXIT.USAGE, `"${alternative}" is not net:HOST:PORT~shs:KEY: ` +
        'shs speaks only the plain shs protocol on top of net')
    }
    // Some addresses append more fields after the key (shs:KEY:SEED); the key comes first.
    const [key] = secure.slice('shs:'.length).split(':')
    return { ...hostPort, remotePublicKey: parseId(key ?? '', 'the key in ADDRESS') }
  }
  throw new CliError(EXIT.USAGE, `"${address}" has no net:HOST:PORT~shs:KEY part: shs only dials TCP (net:) addresses`)
}

/** `HOST:PORT`, `[IPv6]:PORT`, an unbracketed IPv6 host as multiserver writes it, or `PORT` if a default host is given. */
export function parseHostPort (text: string, defaultHost: string | undefined, what: string): HostPort {
  const trimmed = text.trim()
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed)
  if (bracketed !== null) return { host: bracketed[1] as string, port: parsePort(bracketed[2] as string, what) }
  const colon = trimmed.lastIndexOf(':')
  if (colon === -1) {
    if (defaultHost === undefined || !/^\d+$/.test(trimmed)) {
      throw new CliError(EXIT.USAGE, `${what} "${trimmed}" is not HOST:PORT (for example 127.0.0.1:8008)`)
    }
    return { host: defaultHost, port: parsePort(trimmed, what) }
  }
  const host = trimmed.slice(0, colon)
  if (host === '') throw new CliError(EXIT.USAGE, `${what} "${trimmed}" has no host before the colon`)
  return { host, port: parsePort(trimmed.slice(colon + 1), what) }
}

/** `[HOST:]PORT` to listen on; the host defaults to loopback so nothing is exposed by accident. */
export function parseListenAddress (text: string, what: string): HostPort {
  return parseHostPort(text, DEFAULT_LISTEN_HOST, what)
}

function parsePort (text: string, what: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isInteger(port) || port > MAX_PORT) {
    throw new CliError(EXIT.USAGE, `${what} has port "${text}": a port is a number from 0 to ${MAX_PORT}`)
  }
  return port
}

/** How people type an endpoint back in: IPv6 hosts in brackets. */

/** The multiserver form other SSB software and `shs connect` accept. */
export function formatMultiserver ({ host, port }: HostPort, publicKey: Uint8Array): string {
  return `net:${host}:${port}~shs:${formatId(publicKey).slice(1, -'.ed25519'.length)}`
}
