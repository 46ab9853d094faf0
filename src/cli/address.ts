/**
 * Where to connect and where to listen. Remote addresses are Scuttlebutt multiserver addresses
 * (`net:HOST:PORT~shs:KEY`, `ws://HOST:PORT~shs:KEY`, several joined by `;`), parsed by the
 * library, or `HOST:PORT` / `HOST PORT` (like nc) with `--remote`.
 */
import {
  InvalidAddressError, InvalidKeyError, type ShsEndpoint, formatId, formatNetAddress, parseEndpoints
} from '../index.ts'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'
import { parseId } from './identity.ts'
export { formatHostPort } from '../index.ts'

export interface HostPort {
  host: string
  port: number
}

export interface RemoteAddress extends HostPort {
  /** The server's long-term public key: SHS servers answer only callers who know it. */
  remotePublicKey: Uint8Array
}

/** What `connect` dials: a multiserver address whose alternatives the library tries in order. */
export interface DialTarget {
  /** The multiserver address, with the key of --remote filled in. */
  address: string
  endpoints: ShsEndpoint[]
}

const MAX_PORT = 65_535
const DEFAULT_LISTEN_HOST = '127.0.0.1'
const ALL_INTERFACES = '0.0.0.0'

/** ADDRESS (and PORT, in nc's `HOST PORT` form) of `connect`, with the optional `--remote ID`. */
export function parseDialTarget (address: string, port: string | undefined, remote: string | undefined): DialTarget {
  const trimmed = address.trim()
  const fromFlag = remote === undefined ? undefined : parseId(remote, '--remote')
  if (port !== undefined || !isMultiserver(trimmed)) {
    const hostPort = port === undefined
      ? parseHostPort(trimmed, undefined, 'ADDRESS')
      : { host: trimmed, port: parsePort(port.trim(), 'PORT') }
    if (hostPort.port === 0) throw new CliError(EXIT.USAGE, 'ADDRESS has port 0: give the port the server listens on')
    if (fromFlag === undefined) {
      const example = `net:${hostPort.host}:${hostPort.port}~shs:KEY`
      throw new CliError(EXIT.USAGE, `"${[trimmed, port].filter(Boolean).join(' ')}" does not say which server key to expect: ` +
        `use the multiserver address ${example} (as "shs listen" prints it), or add --remote @KEY.ed25519`)
    }
    const multiserver = formatNetAddress(hostPort, fromFlag)
    return { address: multiserver, endpoints: endpointsOf(multiserver) }
  }
  const endpoints = endpointsOf(trimmed)
  if (fromFlag !== undefined && endpoints.some((endpoint) => formatId(endpoint.remotePublicKey) !== formatId(fromFlag))) {
    throw new CliError(EXIT.USAGE, 'ADDRESS names a server key and --remote names another: drop one of them')
  }
  return { address: trimmed, endpoints }
}

/** ADDRESS of `conformance`: its first `net:` alternative (the checks speak raw TCP). */
export function parseRemoteAddress (address: string, remote: string | undefined): RemoteAddress {
  const target = parseDialTarget(address, undefined, remote)
  const net = target.endpoints.find((endpoint) => endpoint.transport === 'net')
  if (net === undefined) {
    throw new CliError(EXIT.USAGE, `"${address.trim()}" has no net:HOST:PORT~shs:KEY alternative: this command only dials TCP`)
  }
  return { host: net.host, port: net.port, remotePublicKey: net.remotePublicKey }
}

function isMultiserver (text: string): boolean {
  return text.includes('~') || /^(net|wss?):/.test(text)
}

function endpointsOf (address: string): ShsEndpoint[] {
  try {
    return parseEndpoints(address)
  } catch (err) {
    if (!(err instanceof InvalidAddressError || err instanceof InvalidKeyError)) throw err
    throw new CliError(EXIT.USAGE, `ADDRESS: ${err.message}`, { cause: err })
  }
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

/** `-L` of `connect`: where to listen, and the target the far end is asked to open (none: the far end's --forward decides). */
export interface LocalForward {
  listen: HostPort
  target: HostPort | undefined
}

/**
 * ssh's `-L [bind_address:]port:host:hostport`, or `[bind_address:]port` alone. IPv6 addresses
 * go in brackets, as ssh wants them; an empty or `*` bind address means every interface, and
 * without one we listen on loopback only.
 */
export function parseLocalForward (text: string, what: string): LocalForward {
  const fields = splitFields(text.trim())
  const usage = (): CliError => new CliError(EXIT.USAGE, `${what} "${text.trim()}" is not [bind:]port:host:hostport ` +
    '(for example 8080:127.0.0.1:80, as ssh -L spells it) or [bind:]port')
  if (fields === undefined || fields.length > 4) throw usage()
  const withTarget = fields.length >= 3
  const bind = fields.length === 2 || fields.length === 4 ? fields[0] as string : undefined
  const [port, host, hostPort] = fields.slice(bind === undefined ? 0 : 1)
  if (port === undefined || !/^\d+$/.test(port)) throw usage()
  const listen = { host: bind === undefined ? DEFAULT_LISTEN_HOST : bind === '' || bind === '*' ? ALL_INTERFACES : bind, port: parsePort(port, what) }
  if (!withTarget) return { listen, target: undefined }
  if (host === undefined || host === '' || hostPort === undefined) throw usage()
  const target = { host, port: parsePort(hostPort, what) }
  if (target.port === 0) throw new CliError(EXIT.USAGE, `${what} "${text.trim()}" asks for port 0 on the far end: give the port of the service there`)
  return { listen, target }
}

/** `a:b:[c]:d` into its fields, brackets removed; undefined if a bracket is left open or text follows one. */
function splitFields (text: string): string[] | undefined {
  const fields: string[] = []
  let rest = text
  for (;;) {
    let field: string
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']')
      if (close === -1) return undefined
      field = rest.slice(1, close)
      rest = rest.slice(close + 1)
      if (rest !== '' && !rest.startsWith(':')) return undefined
    } else {
      const colon = rest.indexOf(':')
      field = colon === -1 ? rest : rest.slice(0, colon)
      rest = colon === -1 ? '' : rest.slice(colon)
    }
    fields.push(field)
    if (rest === '') return fields
    rest = rest.slice(1)
  }
}

function parsePort (text: string, what: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isInteger(port) || port > MAX_PORT) {
    throw new CliError(EXIT.USAGE, `${what} has port "${text}": a port is a number from 0 to ${MAX_PORT}`)
  }
  return port
}

/** The multiserver form other SSB software and `shs connect` accept. */
export function formatMultiserver (hostPort: HostPort, publicKey: Uint8Array): string {
  return formatNetAddress(hostPort, publicKey)
}
