/**
 * The secret census: wraps the libsodium functions that produce or consume secrets and keeps a
 * reference to each buffer involved, so a test can look at the very memory the implementation
 * used, without any accessor into it. Its list comes from libsodium's API, not from our code.
 */
import assert from 'node:assert/strict'
import sodium from 'sodium-native'

export type Kind = 'ephemeral secret key' | 'DH result' | 'curve secret key' | 'hash output' | 'hash input' | 'secretbox key'

/** Which argument of which libsodium function holds a secret (libsodium puts keys last). */
const WATCHED: ReadonlyArray<[string, Kind, (args: unknown[]) => unknown]> = [
  ['crypto_box_keypair', 'ephemeral secret key', (args) => args[1]],
  ['crypto_scalarmult', 'DH result', (args) => args[0]],
  ['crypto_sign_ed25519_sk_to_curve25519', 'curve secret key', (args) => args[0]],
  ['crypto_hash_sha256', 'hash output', (args) => args[0]],
  // Every SHA-256 input in SHS1 is secret: a DH result, or the concatenation sha256() joined and wipes.
  ['crypto_hash_sha256', 'hash input', (args) => args[1]],
  ...['crypto_secretbox_easy', 'crypto_secretbox_open_easy', 'crypto_secretbox_detached', 'crypto_secretbox_open_detached']
    .map((name): [string, Kind, (args: unknown[]) => unknown] => [name, 'secretbox key', (args) => args[args.length - 1]])
]

/**
 * While installed, remembers every buffer that a watched libsodium call wrote a secret into or
 * read a key from. Every SHS1 secret is made by one of these calls, so between them they see all
 * the secret memory a handshake or a box stream ever used.
 */
export class SecretCensus {
  readonly #seen: Array<{ kind: Kind, buffer: Uint8Array }> = []
  readonly #originals = new Map<string, unknown>()

  install (): void {
    const library = sodium as unknown as Record<string, unknown>
    for (const [name] of WATCHED) {
      if (this.#originals.has(name)) continue
      const original = library[name]
      if (typeof original !== 'function') throw new Error(`sodium-native has no function ${name}`)
      this.#originals.set(name, original)
      // One function may hold several secrets (SHA-256: its input and its output).
      const watches = WATCHED.filter(([watched]) => watched === name)
      library[name] = (...args: unknown[]): unknown => {
        const result: unknown = Reflect.apply(original, library, args)
        for (const [, kind, pick] of watches) {
          const buffer = pick(args)
          if (buffer instanceof Uint8Array) this.#seen.push({ kind, buffer })
        }
        return result
      }
    }
  }

  uninstall (): void {
    const library = sodium as unknown as Record<string, unknown>
    for (const [name, original] of this.#originals) library[name] = original
    this.#originals.clear()
  }

  has (kind: Kind): boolean {
    return this.#seen.some((entry) => entry.kind === kind)
  }

  /** Fails unless every watched buffer (but `except`) is zero, and each of `expectKinds` was seen. */
  assertWiped (options: { except?: Uint8Array[], expectKinds: Kind[] }): void {
    this.uninstall()
    for (const kind of options.expectKinds) assert.ok(this.has(kind), `no ${kind} was seen: the census missed what it should watch`)
    const except = new Set(options.except ?? [])
    const left = this.#seen.filter(({ buffer }) => !except.has(buffer) && !buffer.every((b) => b === 0))
    assert.deepEqual(left.map(({ kind }) => kind), [], `${left.length} of ${this.#seen.length} secret buffers still hold data`)
  }

  /** Guards against a census that sees only zeros (and so would pass anything). */
  assertNotAllWiped (why: string): void {
    assert.ok(this.#seen.some(({ buffer }) => buffer.some((b) => b !== 0)), why)
  }
}
