/** The libp2p encrypter factory and admission gater, and the Node stream wrapper, as fuzz entries. */
import { generateKeyPair as generateLibp2pKey } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import type { ConnectionEncrypter, MultiaddrConnection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { connect, toNodeDuplex } from '../../../src/index.ts'
import { shs, shsAdmission } from '../../../src/libp2p/index.ts'
import { type FuzzEntry, positional } from './entry.ts'
import type { FuzzFixture } from './fixture.ts'
import { withOption } from './values.ts'

const MESSAGE = new TextEncoder().encode('one honest exchange through libp2p')

export function otherEntries (fixture: FuzzFixture): FuzzEntry[] {
  return [
    {
      name: 'libp2p shs()',
      options: ['(init)', 'networkKey', 'timeout', 'helloTimeout', 'rekey', 'rekey.afterBytes', 'rekey.afterMs', 'rekey.timeout', 'onSecured'],
      // 2^31 bytes is within afterBytes' range (1 MiB up); {} is a 'prefer', which one encrypter cannot do.
      valid: { '(init)': ['{}'], 'rekey.afterBytes': ['2^31'] },
      async call (path, value) {
        const [ourKey, theirKey] = await Promise.all([generateLibp2pKey('Ed25519'), generateLibp2pKey('Ed25519')])
        // The rekey settings are tried on the extension's encrypter, which shs() makes for 'require'.
        const base = path.startsWith('rekey.') ? { rekey: { mode: 'require' } } : {}
        const init = positional(path, 'init', value, withOption(base, path, value))
        const ours: ConnectionEncrypter = shs(init as Parameters<typeof shs>[0])({ privateKey: ourKey, logger: defaultLogger() })
        const theirs = shs({
          networkKey: (init as { networkKey?: Uint8Array } | null)?.networkKey,
          rekey: ours.protocol.startsWith('/shs-rekey/') ? 'require' : undefined
        })({ privateKey: theirKey, logger: defaultLogger() })
        const [rawOurs, rawTheirs] = multiaddrConnectionPair()
        return {
          async exercise () {
            const [outbound, inbound] = await Promise.all([
              ours.secureOutbound(rawOurs, { remotePeer: peerIdFromPrivateKey(theirKey) }),
              theirs.secureInbound(rawTheirs)
            ])
            const arrived = new Promise<Uint8Array>((resolve) => {
              inbound.connection.addEventListener('message', (evt) => { resolve(evt.data.subarray()) }, { once: true })
            })
            outbound.connection.send(MESSAGE)
            if (!Buffer.from(await arrived).equals(MESSAGE)) throw new Error('the message arrived different')
          },
          async close () {
            rawOurs.abort(new Error('fuzz case over'))
            rawTheirs.abort(new Error('fuzz case over'))
          }
        }
      }
    },
    {
      name: 'libp2p shsAdmission()',
      options: ['(init)', 'maxPendingHandshakes', 'maxPendingPerSource', 'earlyDropRate', 'onRefused'],
      valid: { '(init)': ['{}'], maxPendingHandshakes: ['2^31'], maxPendingPerSource: ['Infinity', '2^31'], earlyDropRate: ['0'] },
      async call (path, value) {
        const admission = shsAdmission(positional(path, 'init', value, withOption({}, path, value)) as Parameters<typeof shsAdmission>[0])
        return {
          async exercise () {
            // What the gater reads of a connection: its remote address, and its close.
            const maConn = { remoteAddr: multiaddr('/ip4/127.0.0.9/tcp/4001'), addEventListener: () => {} } as unknown as MultiaddrConnection
            if (await admission.connectionGater.denyInboundConnection(maConn)) throw new Error('a first connection was refused')
            const pending = (): number => admission.pending
            if (pending() !== 1) throw new Error(`${pending()} pending after one admitted`)
            await admission.connectionGater.denyInboundEncryptedConnection(peerIdFromPrivateKey(await generateLibp2pKey('Ed25519')), maConn)
            if (pending() !== 0) throw new Error('an encrypted connection still counted as pending')
          },
          async close () {}
        }
      }
    },
    {
      name: 'toNodeDuplex',
      options: ['(secure)'],
      async call (path, value) {
        const secure = await connect({
          keys: fixture.clientKeys, networkKey: fixture.networkKey, remotePublicKey: fixture.serverKeys.publicKey,
          host: '127.0.0.1', port: fixture.tcp.address().port
        })
        let duplex
        try {
          duplex = toNodeDuplex(positional(path, 'secure', value, secure))
        } catch (err) {
          secure.abort()
          throw err
        }
        return {
          async exercise () {
            const chunks: Buffer[] = []
            duplex.on('data', (chunk: Buffer) => chunks.push(chunk))
            const ended = new Promise((resolve, reject) => { duplex.once('end', resolve); duplex.once('error', reject) })
            duplex.end(MESSAGE)
            await ended
            if (!Buffer.concat(chunks).equals(MESSAGE)) throw new Error('the echo came back different')
          },
          async close () { duplex.destroy(); secure.abort() }
        }
      }
    }
  ]
}
