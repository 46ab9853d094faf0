/**
 * The `npm run bench:dos` rows for a listen() server out of file descriptors: the server runs
 * under `ulimit -n 256` with its defaults; two attacker processes each try to hold 200 idle
 * established connections (whole handshakes, so admission has nothing to refuse), more than the
 * descriptors allow; 24 sequential honest clients dial while both hold, then again after one of
 * them closed its connections. Each row says how many were served and how many accept errors
 * reached onError. Every loop is bounded.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { SSB_NETWORK_KEY, type SecureStream, connect, generateKeyPair, listen } from '../../src/index.ts'

const FD_LIMIT = 256
const HONEST = 24
const HONEST_TIMEOUT_MS = 2_000
/** Connections each attacker process tries to hold, and the attempts it makes at most. */
const HALF = 200
const MAX_ATTEMPTS = 2 * HALF
const SETTLE_MS = 2_000

if (process.argv[2] === 'fd-serve') await serve()
else if (process.argv[2] === 'fd-attack') await attack(Number(process.argv[3]), new Uint8Array(Buffer.from(process.argv[4] ?? '', 'hex')))

async function serve (): Promise<void> {
  const keys = generateKeyPair()
  let acceptErrors = 0
  const listener = await listen({ port: 0, keys, networkKey: SSB_NETWORK_KEY, onError: (error) => { if (error.code === 'ERR_SHS_ACCEPT_FAILED') acceptErrors++ } },
    (stream) => { stream.sink(stream.source).catch(() => {}) })
  process.send?.({ port: listener.address().port, publicKey: Buffer.from(keys.publicKey).toString('hex') })
  process.on('message', () => { process.send?.({ acceptErrors, stats: listener.stats() }) })
  process.once('disconnect', () => { void listener.close().then(() => process.exit(0)) })
}

/** Opens up to HALF idle connections (a failed attempt is tried again, MAX_ATTEMPTS in all) and holds them until told to stop. */
async function attack (port: number, publicKey: Uint8Array): Promise<void> {
  const keys = generateKeyPair()
  const held: SecureStream[] = []
  for (let attempt = 0; attempt < MAX_ATTEMPTS && held.length < HALF; attempt++) {
    const stream = await connect({ host: '127.0.0.1', port, keys, networkKey: SSB_NETWORK_KEY, remotePublicKey: publicKey, timeout: HONEST_TIMEOUT_MS })
      .catch(() => undefined)
    if (stream !== undefined) held.push(stream)
  }
  process.send?.({ held: held.length })
  process.once('message', () => {
    for (const stream of held) stream.abort()
    process.send?.({ stopped: true }, () => { process.exit(0) })
  })
}

async function ask<T> (child: ChildProcess, message?: string): Promise<T> {
  return await new Promise<T>((resolve) => {
    child.once('message', (answer) => { resolve(answer as T) })
    if (message !== undefined) child.send(message)
  })
}

async function honest (port: number, publicKey: Uint8Array): Promise<number> {
  const keys = generateKeyPair()
  let served = 0
  for (let i = 0; i < HONEST; i++) {
    try {
      const stream = await connect({ host: '127.0.0.1', port, keys, networkKey: SSB_NETWORK_KEY, remotePublicKey: publicKey, timeout: HONEST_TIMEOUT_MS })
      await stream.sink([])
      stream.abort()
      served++
    } catch {
      // A refused or dropped honest client is what the row counts.
    }
  }
  return served
}

export async function fdLimitRows (): Promise<void> {
  const script = fileURLToPath(import.meta.url)
  const server = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, ...process.execArgv, script, 'fd-serve'],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ready = await ask<{ port: number, publicKey: string }>(server)
  const publicKey = new Uint8Array(Buffer.from(ready.publicKey, 'hex'))
  const halves = [0, 1].map(() => fork(script, ['fd-attack', String(ready.port), ready.publicKey], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  let held = 0
  for (const half of halves) held += (await ask<{ held: number }>(half)).held
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  console.log(`\nlisten() with its defaults under ulimit -n ${FD_LIMIT}: ${HONEST} sequential honest clients (${HONEST_TIMEOUT_MS / 1000} s each at most)\n`)
  console.log('| attack | honest served | accept errors reported (so far) | pending handshakes |')
  console.log('|---|---|---|---|')
  const row = async (label: string): Promise<void> => {
    const served = await honest(ready.port, publicKey)
    const report = await ask<{ acceptErrors: number, stats: { pendingHandshakes: number } }>(server, 'report')
    console.log(`| ${label} | ${served} / ${HONEST} | ${report.acceptErrors} | ${report.stats.pendingHandshakes} |`)
  }
  await row(`${held} idle connections held (of ${2 * HALF} tried)`)
  const [first, second] = halves
  if (first !== undefined) await ask(first, 'stop')
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  await row('after one attacker closed its connections')
  if (second !== undefined) await ask(second, 'stop')
  server.disconnect()
}
