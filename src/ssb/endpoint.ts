/**
 * From a multiserver address to what we can dial: `net:HOST:PORT~shs:KEY` and
 * `ws://HOST:PORT~shs:KEY` / `wss://…` alternatives, with the optional `shs:KEY:SEED` form
 * (the client then authenticates with the key pair grown from SEED, as multiserver's shs
 * plugin does; ssb-invite's guest invites rely on it).
 */
import { fromString } from 'uint8arrays/from-string'
import { type Ed25519PublicKey } from '../crypto/keys.ts'
import { SEED_BYTES } from '../crypto/primitives.ts'
import { InvalidKeyError } from '../errors.ts'
import { type MultiserverAddress, type MultiserverProtocol, formatProtocol, parseMultiserverAddress } from './address.ts'
import { InvalidAddressError } from './errors.ts'
import { formatKey, parseId } from './id.ts'

const MAX_PORT = 65_535
const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'ws:': 80, 'wss:': 443 }

interface EndpointCommon {
  /** The alternative this endpoint came from, as written. */
  readonly text: string
  readonly host: string
  readonly port: number
  readonly remotePublicKey: Ed25519PublicKey
  /** From `shs:KEY:SEED`: connect as the key pair grown from this seed instead of our own. */
  readonly seed?: Uint8Array | undefined
}

export interface NetEndpoint extends EndpointCommon {
  readonly transport: 'net'
}

export interface WsEndpoint extends EndpointCommon {
  readonly transport: 'ws'
  /** `ws://…` or `wss://…`, as given to the WebSocket client. */
  readonly url: string
  readonly secure: boolean
}

export type ShsEndpoint = NetEndpoint | WsEndpoint

/** One alternative that we can dial, or why we cannot. */
export type ResolvedAlternative =
  | { readonly text: string, readonly endpoint: ShsEndpoint }
  | { readonly text: string, readonly unusable: string }

/** Each alternative of the address, in order, resolved to an endpoint or to the reason it cannot be one. */
export function resolveAddress (text: string): ResolvedAlternative[] {
  return parseMultiserverAddress(text).map((alternative) => {
    const written = alternative.map(formatProtocol).join('~')
    try {
      return { text: written, endpoint: toEndpoint(alternative, written) }
    } catch (err) {
      if (!(err instanceof InvalidAddressError || err instanceof InvalidKeyError)) throw err
      return { text: written, unusable: err.message }
    }
  })
}

/** The endpoints we can dial; throws, naming every alternative and its problem, if there is none. */
export function parseEndpoints (text: string): ShsEndpoint[] {
  const resolved = resolveAddress(text)
  const endpoints = resolved.flatMap((alternative) => 'endpoint' in alternative ? [alternative.endpoint] : [])
  if (endpoints.length > 0) return endpoints
  const reasons = resolved.map((alternative) => 'unusable' in alternative ? alternative.unusable : '')
  throw new InvalidAddressError(reasons.length === 1
    ? reasons[0] as string
    : `no alternative of "${text.trim()}" can be dialed: ${reasons.join('; ')}`)
}

function toEndpoint (alternative: MultiserverAddress, text: string): ShsEndpoint {
  const [transport, shs, ...rest] = alternative
  if (transport === undefined) throw new InvalidAddressError('the address is empty')
  if (shs === undefined || shs.name !== 'shs' || rest.length > 0) {
    throw new InvalidAddressError(`"${text}" is not TRANSPORT~shs:KEY: only the shs transform is supported, ` +
      'and it must name the server key (net:HOST:PORT~shs:KEY or ws://HOST:PORT~shs:KEY)')
  }
  const secret = parseShs(shs, text)
  switch (transport.name) {
    case 'net': return { transport: 'net', text, ...parseNet(transport, text), ...secret }
    case 'ws': case 'wss': return { transport: 'ws', text, ...parseWs(transport, text), ...secret }
    default:
      throw new InvalidAddressError(`"${text}" uses the ${transport.name} transport: only net: and ws:/wss: are supported`)
  }
}

function parseShs (shs: MultiserverProtocol, text: string): { remotePublicKey: Ed25519PublicKey, seed?: Uint8Array } {
  const [key, seedText, ...extra] = shs.data
  if (key === undefined || extra.length > 0) throw new InvalidAddressError(`"${text}" must end in shs:KEY or shs:KEY:SEED`)
  const remotePublicKey = parseId(key, `the key in "${text}"`)
  if (seedText === undefined) return { remotePublicKey }
  const seed = decodeSeed(seedText)
  if (seed === undefined) throw new InvalidAddressError(`the seed in "${text}" is not ${SEED_BYTES} bytes of base64`)
  return { remotePublicKey, seed }
}

function decodeSeed (text: string): Uint8Array | undefined {
  try {
    const seed = fromString(text, 'base64pad')
    return seed.byteLength === SEED_BYTES ? seed : undefined
  } catch {
    return undefined
  }
}

/** `net:HOST:PORT`, the host possibly an IPv6 address with unescaped colons (as multiserver writes it). */
function parseNet (protocol: MultiserverProtocol, text: string): { host: string, port: number } {
  if (protocol.data.length < 2) throw new InvalidAddressError(`"${text}" does not start with net:HOST:PORT`)
  const host = protocol.data.slice(0, -1).join(':').replace(/^\[(.*)\]$/, '$1')
  return { host: host === '' ? 'localhost' : host, port: parsePort(protocol.data.at(-1) as string, text) }
}

function parseWs (protocol: MultiserverProtocol, text: string): { host: string, port: number, url: string, secure: boolean } {
  let url: URL
  try {
    url = new URL([protocol.name, ...protocol.data].join(':'))
  } catch {
    throw new InvalidAddressError(`"${text}" does not start with a WebSocket URL like ws://HOST:PORT`)
  }
  if (url.hostname === '') throw new InvalidAddressError(`"${text}" has no host in its WebSocket URL`)
  const port = url.port === '' ? DEFAULT_PORTS[url.protocol] as number : parsePort(url.port, text)
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, url: url.href, secure: url.protocol === 'wss:' }
}

function parsePort (text: string, address: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isInteger(port) || port < 1 || port > MAX_PORT) {
    throw new InvalidAddressError(`"${address}" has port "${text}": a port is a number from 1 to ${MAX_PORT}`)
  }
  return port
}

/** `net:HOST:PORT~shs:KEY`, exactly as multiserver's net and shs plugins write it (IPv6 colons unescaped). */
export function formatNetAddress ({ host, port }: { host: string, port: number }, publicKey: Uint8Array): string {
  return `net:${host}:${port}~shs:${formatKey(publicKey)}`
}

/** `ws://HOST:PORT~shs:KEY` (or `wss://`), IPv6 hosts in brackets as URLs need them. */
export function formatWsAddress ({ host, port, secure = false }: { host: string, port: number, secure?: boolean }, publicKey: Uint8Array): string {
  const shown = host.includes(':') ? `[${host}]` : host
  return `${secure ? 'wss' : 'ws'}://${shown}:${port}~shs:${formatKey(publicKey)}`
}
