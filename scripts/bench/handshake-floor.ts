/**
 * The handshake floor: the libsodium calls SHS1 itself requires, each timed directly (reused
 * buffers, no JavaScript around it), summed with the number of times one handshake makes it.
 * Both sides make the same calls: per side one ephemeral key pair, three X25519 (ab, aB, Ab),
 * one signature and one verification, the hello HMAC and its check, one Ed25519→Curve25519
 * conversion of each of the peer's public and our own secret key, six SHA-256 (hash of ab, the
 * two box keys, the shared secret, the two session keys), one small secretbox and one open.
 * Extra work an implementation adds (re-validating keys, copies) is not in the floor.
 */
import sodium from 'sodium-native'

interface Operation {
  readonly name: string
  /** Calls per side; a handshake pair makes twice as many, a server once as many. */
  readonly perSide: number
  readonly run: () => void
}

const PUBLIC_KEY_BYTES = 32
const SECRET_KEY_BYTES = 64
const CURVE_KEY_BYTES = 32
const SIGNATURE_BYTES = 64
const HMAC_BYTES = 32
const HASH_BYTES = 32
const NONCE_BYTES = 24
const MAC_BYTES = 16
/** The largest message SHS1 signs: K ‖ sig_A ‖ A ‖ sha256(ab). */
const SIGNED_BYTES = 160
/** Hash inputs are at most K ‖ ab ‖ aB ‖ Ab. */
const HASHED_BYTES = 128
/** The larger box: sig_A ‖ A (message 3). */
const BOXED_BYTES = SIGNATURE_BYTES + PUBLIC_KEY_BYTES

function bytes (length: number): Uint8Array {
  const buffer = new Uint8Array(length)
  sodium.randombytes_buf(buffer)
  return buffer
}

function operations (): readonly Operation[] {
  const edPublic = new Uint8Array(PUBLIC_KEY_BYTES)
  const edSecret = new Uint8Array(SECRET_KEY_BYTES)
  sodium.crypto_sign_keypair(edPublic, edSecret)
  const curvePublic = new Uint8Array(CURVE_KEY_BYTES)
  const curveSecret = new Uint8Array(CURVE_KEY_BYTES)
  sodium.crypto_box_keypair(curvePublic, curveSecret)
  const out32 = new Uint8Array(CURVE_KEY_BYTES)
  const signed = bytes(SIGNED_BYTES)
  const signature = new Uint8Array(SIGNATURE_BYTES)
  sodium.crypto_sign_detached(signature, signed, edSecret)
  const signatureOut = new Uint8Array(SIGNATURE_BYTES)
  const macKey = bytes(HMAC_BYTES)
  const mac = new Uint8Array(HMAC_BYTES)
  sodium.crypto_auth(mac, curvePublic, macKey)
  const hashed = bytes(HASHED_BYTES)
  const digest = new Uint8Array(HASH_BYTES)
  const boxKey = bytes(HASH_BYTES)
  const nonce = new Uint8Array(NONCE_BYTES)
  const plain = bytes(BOXED_BYTES)
  const boxed = new Uint8Array(BOXED_BYTES + MAC_BYTES)
  sodium.crypto_secretbox_easy(boxed, plain, nonce, boxKey)
  const unboxed = new Uint8Array(BOXED_BYTES)
  const keyPublic = new Uint8Array(CURVE_KEY_BYTES)
  const keySecret = new Uint8Array(CURVE_KEY_BYTES)
  const check = (ok: boolean, name: string): void => { if (!ok) throw new Error(`${name} failed on valid input`) }
  return [
    { name: 'crypto_box_keypair', perSide: 1, run: () => { sodium.crypto_box_keypair(keyPublic, keySecret) } },
    { name: 'crypto_scalarmult', perSide: 3, run: () => { sodium.crypto_scalarmult(out32, curveSecret, curvePublic) } },
    { name: 'crypto_sign_detached', perSide: 1, run: () => { sodium.crypto_sign_detached(signatureOut, signed, edSecret) } },
    { name: 'crypto_sign_verify_detached', perSide: 1, run: () => { check(sodium.crypto_sign_verify_detached(signature, signed, edPublic), 'verify') } },
    { name: 'crypto_sign_ed25519_pk_to_curve25519', perSide: 1, run: () => { sodium.crypto_sign_ed25519_pk_to_curve25519(out32, edPublic) } },
    { name: 'crypto_sign_ed25519_sk_to_curve25519', perSide: 1, run: () => { sodium.crypto_sign_ed25519_sk_to_curve25519(out32, edSecret) } },
    { name: 'crypto_auth', perSide: 1, run: () => { sodium.crypto_auth(mac, curvePublic, macKey) } },
    { name: 'crypto_auth_verify', perSide: 1, run: () => { check(sodium.crypto_auth_verify(mac, curvePublic, macKey), 'auth_verify') } },
    { name: 'crypto_hash_sha256', perSide: 6, run: () => { sodium.crypto_hash_sha256(digest, hashed) } },
    { name: 'crypto_secretbox_easy', perSide: 1, run: () => { sodium.crypto_secretbox_easy(boxed, plain, nonce, boxKey) } },
    { name: 'crypto_secretbox_open_easy', perSide: 1, run: () => { check(sodium.crypto_secretbox_open_easy(unboxed, boxed, nonce, boxKey), 'secretbox_open') } }
  ]
}

/**
 * Each operation is timed in several slices of at least SLICE_MS and the fastest slice counts:
 * a floor is what libsodium can do, and preemption or another process only ever adds time.
 */
const SLICES = 5
const SLICE_MS = 8
const MIN_CALLS = 20
const WARMUP_CALLS = 20
const US_PER_MS = 1000

function microseconds (run: () => void): number {
  for (let call = 0; call < WARMUP_CALLS; call++) run()
  let best = Number.POSITIVE_INFINITY
  for (let slice = 0; slice < SLICES; slice++) {
    let calls = 0
    const started = performance.now()
    let elapsed = 0
    while (calls < MIN_CALLS || elapsed < SLICE_MS) {
      run()
      calls++
      elapsed = performance.now() - started
    }
    best = Math.min(best, elapsed * US_PER_MS / calls)
  }
  return best
}

export interface HandshakeFloor {
  /** Microseconds per call. */
  readonly costs: Readonly<Record<string, number>>
  /** Microseconds of libsodium work in one handshake pair (client + server). */
  readonly pairUs: number
  /** Microseconds of libsodium work the server side does per handshake. */
  readonly serverUs: number
}

export function measureHandshakeFloor (): HandshakeFloor {
  const costs: Record<string, number> = {}
  let sideUs = 0
  for (const operation of operations()) {
    const cost = microseconds(operation.run)
    costs[operation.name] = cost
    sideUs += cost * operation.perSide
  }
  return { costs, pairUs: 2 * sideUs, serverUs: sideUs }
}
