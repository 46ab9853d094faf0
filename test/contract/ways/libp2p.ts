/** The libp2p connection encrypter `shs()`, over libp2p's own in-memory connection pair. */
import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { shs } from '../../../src/libp2p/index.ts'
import { messageStreamApp } from './app.ts'
import { messageStreamRaw } from './raw.ts'
import type { Opened, WayIn } from './types.ts'

export const libp2p: WayIn = {
  name: 'libp2p shs()',
  roles: ['client', 'server'],
  idleTimeout: false,
  frameworkErrors: ['StreamResetError'],
  cleanEndBetweenPackets: true,
  async open (role, identities, handshake): Promise<Opened> {
    const encrypter = shs({ networkKey: identities.networkKey, muxerNegotiation: false })({ privateKey: privateKeyFromRaw(identities.ours.secretKey), logger: defaultLogger() })
    const [ours, theirs] = multiaddrConnectionPair()
    const raw = messageStreamRaw(theirs)
    const [secured] = await Promise.all([
      role === 'client'
        ? encrypter.secureOutbound(ours, { remotePeer: peerIdFromPublicKey(publicKeyFromRaw(identities.theirs.publicKey)) })
        : encrypter.secureInbound(ours),
      handshake(raw)
    ])
    const app = messageStreamApp(secured.connection, secured.remotePeer.publicKey?.raw ?? new Uint8Array(0))
    return {
      app,
      raw,
      close: async () => {
        ours.abort(new Error('the contract test is over'))
        theirs.abort(new Error('the contract test is over'))
      }
    }
  }
}
