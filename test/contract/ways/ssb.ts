/** The Scuttlebutt plugins: multiserver's `shs` transform and secret-stack's, over an in-memory pull-stream pipe. */
import ourShs, { type PullEnd, type ShsPlugin, type ShsPullStream } from '../../../src/multiserver/index.ts'
import secretStackPlugin from '../../../src/secret-stack/index.ts'
import { formatKey } from '../../../src/index.ts'
import { pullStreamApp } from './app.ts'
import { Channel, channelRaw } from './raw.ts'
import type { Identities, Opened, RawEnd, Role, WayIn } from './types.ts'

type PullSource = (abort: PullEnd, cb: (end: PullEnd, data?: Buffer) => void) => void

/** What multiserver hands a transform: the raw transport as a pull duplex, here the app's half of a pipe. */
function pullPipe (): { transport: { source: PullSource, sink: (read: PullSource) => void }, raw: RawEnd } {
  const toApp = new Channel()
  const fromApp = new Channel()
  const source: PullSource = (abort, cb) => {
    if (abort !== null && abort !== undefined && abort !== false) {
      toApp.end()
      cb(abort)
      return
    }
    toApp.next().then((result) => { if (result.done === true) cb(true); else cb(null, Buffer.from(result.value)) }, (err: unknown) => { cb(err as Error) })
  }
  const sink = (read: PullSource): void => {
    const more = (): void => {
      read(null, (end, data) => {
        if (end !== null && end !== undefined) { fromApp.end(); return }
        fromApp.push(data as Buffer).then(more, () => {})
      })
    }
    // A peer that hung up stops the reading too, as a closed socket does.
    fromApp.onEnd(() => { read(true, () => {}) })
    more()
  }
  return { transport: { source, sink }, raw: channelRaw(fromApp, toApp) }
}

async function secure (plugin: ShsPlugin, role: Role, identities: Identities, handshake: (raw: RawEnd) => Promise<void>): Promise<Opened> {
  const { transport, raw } = pullPipe()
  const secured = new Promise<ShsPullStream>((resolve, reject) => {
    const address = role === 'client' ? { key: Buffer.from(identities.theirs.publicKey) } : null
    plugin.create(address)(transport, (err, stream) => { if (err !== null || stream === undefined) reject(err ?? new Error('no stream')); else resolve(stream) })
  })
  const [stream] = await Promise.all([secured, handshake(raw)])
  return { app: pullStreamApp(stream), raw, close: async () => {} }
}

export const multiserver: WayIn = {
  name: 'multiserver shs plugin',
  roles: ['client', 'server'],
  idleTimeout: false,
  async open (role, identities, handshake): Promise<Opened> {
    const plugin = ourShs({
      keys: { publicKey: Buffer.from(identities.ours.publicKey), secretKey: Buffer.from(identities.ours.secretKey) },
      appKey: Buffer.from(identities.networkKey)
    })
    return await secure(plugin, role, identities, handshake)
  }
}

export const secretStack: WayIn = {
  name: 'secret-stack shs plugin',
  roles: ['client', 'server'],
  idleTimeout: false,
  async open (role, identities, handshake): Promise<Opened> {
    const transforms: Array<{ create: () => ShsPlugin }> = []
    const api = {
      auth: (_id: string, cb: (err: null, auth: boolean) => void) => { cb(null, true) },
      multiserver: { transform: (transform: { create: () => ShsPlugin }) => { transforms.push(transform) } }
    }
    const config = {
      global: {
        caps: { shs: Buffer.from(identities.networkKey).toString('base64') },
        keys: { public: `${formatKey(identities.ours.publicKey)}.ed25519`, private: `${formatKey(identities.ours.secretKey)}.ed25519` }
      }
    }
    secretStackPlugin.init(api as unknown as Parameters<typeof secretStackPlugin.init>[0], config)
    const transform = transforms[0]
    if (transform === undefined) throw new Error('the secret-stack plugin registered no transform')
    return await secure(transform.create(), role, identities, handshake)
  }
}
