/**
 * Errors that only exist in libp2p use. They follow libp2p's convention (a distinct `name` per
 * class, checked with `err.name`) and carry a stable `code` like the core's `ShsError`.
 *
 * Note that libp2p's upgrader re-throws every encrypter failure as an `EncryptionFailedError`
 * carrying only the message, so the messages here must stand on their own.
 */

/** An outbound connection was started without knowing whom it dials. */
export class RemotePeerRequiredError extends Error {
  static readonly code = 'ERR_SHS_REMOTE_PEER_REQUIRED'
  readonly code = RemotePeerRequiredError.code

  constructor (message = 'shs cannot dial a peer whose id it does not know: the secret handshake ' +
    'encrypts its first authenticated message to the remote peer\'s public key, and an SHS node ' +
    'does not answer callers who do not already know that key (no cold calling). ' +
    'Dial an address that ends in /p2p/<peer id> (or dial the peer id itself)') {
    super(message)
    this.name = 'RemotePeerRequiredError'
  }
}

/** The local node key, or the dialled peer's key, is not Ed25519, the only kind SHS can use. */
export class UnsupportedPeerKeyError extends Error {
  static readonly code = 'ERR_SHS_UNSUPPORTED_KEY_TYPE'
  readonly code = UnsupportedPeerKeyError.code

  constructor (message: string) {
    super(message)
    this.name = 'UnsupportedPeerKeyError'
  }
}
