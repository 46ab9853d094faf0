/**
 * The multiserver address grammar (github.com/ssbc/multiserver-address): a multiaddress lists
 * alternatives separated by `;`, each a chain of protocols separated by `~` (transport first,
 * then transforms such as `shs`), each protocol a name and `:`-separated data fields. `!`
 * escapes any of `!:;~` inside a data field.
 */
import { InvalidAddressError } from './errors.ts'

export interface MultiserverProtocol {
  /** `net`, `ws`, `wss`, `shs`, `onion`, … */
  readonly name: string
  /** The data fields, unescaped. */
  readonly data: readonly string[]
}

/** One way to reach a peer: a transport followed by its transforms. */
export type MultiserverAddress = readonly MultiserverProtocol[]

const ESCAPE = '!'
const SPECIAL = new Set(['!', ':', ';', '~'])
const NAME_PATTERN = /^[a-z][a-z0-9-]*$/

/** Every alternative of a multiaddress, in the order given (the preferred one first). */
export function parseMultiserverAddress (text: string): MultiserverAddress[] {
  const trimmed = text.trim()
  if (trimmed === '') throw new InvalidAddressError('the multiserver address is empty')
  return splitEscaped(trimmed, ';').map((alternative) => {
    if (alternative === '') throw new InvalidAddressError(`"${trimmed}" has an empty alternative between two ";"`)
    return splitEscaped(alternative, '~').map((protocol) => parseProtocol(protocol, alternative))
  })
}

/** The inverse of `parseMultiserverAddress`, escaping what the grammar requires. */
export function formatMultiserverAddress (alternatives: readonly MultiserverAddress[]): string {
  return alternatives.map((alternative) => alternative.map(formatProtocol).join('~')).join(';')
}

export function formatProtocol (protocol: MultiserverProtocol): string {
  return [protocol.name, ...protocol.data.map(escape)].join(':')
}

function parseProtocol (text: string, alternative: string): MultiserverProtocol {
  const [name = '', ...data] = splitEscaped(text, ':')
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidAddressError(`"${alternative}" has a protocol named "${name}": ` +
      'a multiserver protocol name is lower-case letters, digits and "-" (like net, ws, shs)')
  }
  return { name, data: data.map(unescape) }
}

/** Splits at separators that are not escaped, keeping escapes for the next level to read. */
function splitEscaped (text: string, separator: string): string[] {
  const parts: string[] = []
  let current = ''
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    if (char === ESCAPE && i + 1 < text.length) {
      current += char + (text[++i] as string)
    } else if (char === separator) {
      parts.push(current)
      current = ''
    } else {
      current += char
    }
  }
  parts.push(current)
  return parts
}

function unescape (text: string): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    out += char === ESCAPE && i + 1 < text.length ? (text[++i] as string) : char
  }
  return out
}

function escape (text: string): string {
  let out = ''
  for (const char of text) out += SPECIAL.has(char) ? ESCAPE + char : char
  return out
}
