/**
 * The bridge between libp2p identities and SHS keys. A libp2p Ed25519 private key's raw form is
 * already libsodium's 64-byte layout (seed ‖ public key), so the node key is used as the SHS
 * long-term key unchanged, and a proven SHS public key is exactly an Ed25519 peer id's key.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { KeyPair } from '../crypto/keys.ts'
import { UnsupportedPeerKeyError } from './errors.ts'

const ED25519 = 'Ed25519'

/** The node's identity as an SHS key pair; throws a named error for any other key type. */
export function shsKeyPair (privateKey: PrivateKey): KeyPair {
  if (privateKey.type !== ED25519) {
    throw new UnsupportedPeerKeyError(`shs() needs an Ed25519 node key, but this node's key is ${privateKey.type}: ` +
      'create the node with an Ed25519 key, e.g. createLibp2p({ privateKey: await generateKeyPair(\'Ed25519\'), ... }) ' +
      'with generateKeyPair from @libp2p/crypto/keys (libp2p\'s default when no key is given), ' +
      'or use noise() for this node')
  }
  return { publicKey: privateKey.publicKey.raw, secretKey: privateKey.raw }
}

/** The SHS public key to dial: the key inside an Ed25519 peer id. */
export function remoteShsKey (peer: PeerId): Uint8Array {
  if (peer.type !== ED25519) {
    throw new UnsupportedPeerKeyError(`shs can only dial peers with Ed25519 keys, but ${peer.toString()} is a ${peer.type} ` +
      'peer id: the secret handshake authenticates with Ed25519 keys. Use noise() to reach this peer')
  }
  return peer.publicKey.raw
}

/** The peer id of a key the handshake proved. */
export function peerIdFromShsKey (publicKey: Uint8Array): PeerId {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey))
}
