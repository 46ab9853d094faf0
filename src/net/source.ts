/**
 * Which "source" a connection comes from, for per-source limits: the IPv4 address, or the IPv6
 * network it sits in. One IPv6 host usually owns a whole /64 and can pick any address in it, so
 * counting IPv6 by address would let one host look like 2^64 sources (sshd's
 * PerSourceNetBlockSize defaults to 32:128; we default to 32:64 for the reason above).
 */

/** Bits of an address that name one source, per family. */
export interface SourcePrefixes {
  ipv4: number
  ipv6: number
}

export const DEFAULT_SOURCE_PREFIXES: Readonly<SourcePrefixes> = { ipv4: 32, ipv6: 64 }

const IPV4_MAPPED_PREFIX = '::ffff:'

/** A stable text key for the source of `address` (as Node's socket.remoteAddress spells it). */
export function sourceOf (address: string, prefixes: SourcePrefixes = DEFAULT_SOURCE_PREFIXES): string {
  const lower = address.toLowerCase()
  // A dual-stack server sees IPv4 clients as ::ffff:a.b.c.d; they are IPv4 sources.
  const v4 = lower.startsWith(IPV4_MAPPED_PREFIX) && lower.includes('.') ? lower.slice(IPV4_MAPPED_PREFIX.length) : lower
  const octets = parseIPv4(v4)
  if (octets !== undefined) return `${maskBits(octets, 8, prefixes.ipv4).join('.')}/${prefixes.ipv4}`
  const hextets = parseIPv6(lower)
  if (hextets !== undefined) return `${maskBits(hextets, 16, prefixes.ipv6).map((h) => h.toString(16)).join(':')}/${prefixes.ipv6}`
  // Not an address we can read (a socket closed before it was accepted): its own source.
  return address
}

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/** Asked once per accepted connection: one regular expression, no intermediate arrays. */
function parseIPv4 (text: string): number[] | undefined {
  const match = DOTTED_QUAD.exec(text)
  if (match === null) return undefined
  const octets = [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])]
  return octets.every((octet) => octet <= 255) ? octets : undefined
}

function parseIPv6 (text: string): number[] | undefined {
  const zone = text.indexOf('%')
  const bare = zone === -1 ? text : text.slice(0, zone)
  const halves = bare.split('::')
  if (halves.length > 2) return undefined
  const head = hextetsOf(halves[0] ?? '')
  const tail = halves.length === 2 ? hextetsOf(halves[1] ?? '') : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  return [...head, ...new Array<number>(missing).fill(0), ...tail]
}

/** The colon-separated groups of one side of `::`; a trailing dotted quad counts as two groups. */
function hextetsOf (text: string): number[] | undefined {
  if (text === '') return []
  const groups = text.split(':')
  const last = groups[groups.length - 1] ?? ''
  const result: number[] = []
  for (const group of groups.slice(0, -1)) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined
    result.push(parseInt(group, 16))
  }
  const quad = parseIPv4(last)
  if (quad !== undefined) return [...result, ((quad[0] ?? 0) << 8) | (quad[1] ?? 0), ((quad[2] ?? 0) << 8) | (quad[3] ?? 0)]
  if (!/^[0-9a-f]{1,4}$/.test(last)) return undefined
  return [...result, parseInt(last, 16)]
}

/** Keeps the first `prefix` bits of `units` (each `width` bits wide) and zeroes the rest. */
function maskBits (units: readonly number[], width: number, prefix: number): number[] {
  return units.map((unit, i) => {
    const kept = Math.min(Math.max(prefix - i * width, 0), width)
    const mask = kept === 0 ? 0 : ((1 << width) - 1) ^ ((1 << (width - kept)) - 1)
    return unit & mask
  })
}
