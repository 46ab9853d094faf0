/**
 * The other implementations, for `npm run test:peers`: the npm reference (secret-handshake +
 * pull-box-stream, scripts/conformance/) and the three peers vendored in ../shared/peers
 * (go-secretstream, python-ssb, shs1-c), each built with its own build.sh into a temporary
 * folder. They share their subcommands: `server` (an echo server that prints LISTEN HOST:PORT
 * first) and `pipe` (netcat-like), which is what the conformance suite and the interop tests run.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
export const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))))
const NODE = `"${process.execPath}" --conditions=shs-source`
const SHS = `${NODE} "${join(ROOT, 'src/cli/main.ts')}"`

/** ../shared next to the checkout, or two levels up from a git worktree; SHS_SHARED overrides. */
export function sharedDir (): string {
  const candidates = [process.env.SHS_SHARED, join(ROOT, '..', 'shared'), join(ROOT, '..', '..', 'shared')]
  const found = candidates.find((dir) => dir !== undefined && existsSync(join(dir, 'peers', 'README.md')))
  if (found === undefined) throw new Error(`no ../shared/peers (looked in ${candidates.filter(Boolean).join(', ')}); set SHS_SHARED`)
  return found
}

export type PeerName = 'reference' | 'go-secretstream' | 'python-ssb' | 'shs1-c'

export interface Peer {
  readonly name: PeerName
  /** The server under conformance: listens on $SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT with the keys it is given. */
  readonly server: string
  /** The client under conformance, netcat-like, connecting to $SHS_CONFORMANCE_ADDRESS's host and port. */
  readonly client: string
}

const LISTEN = '-listen "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" -netkey "$SHS_CONFORMANCE_NETWORK_KEY" -secret "$SHS_CONFORMANCE_SECRET"'
const DIAL = '-addr "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" -netkey "$SHS_CONFORMANCE_NETWORK_KEY" -remote "$SHS_CONFORMANCE_SERVER_KEY" -secret "$SHS_CONFORMANCE_SECRET"'

/**
 * Our own server and client, as commands (their stderr is theirs to keep: it is scanned for
 * crashes). Both have the rekey extension (shs listen by default, shs connect with --rekey
 * prefer, which the plain checks make fall back to SHS1) and start rekeys of their own after
 * 1 MiB, so rk.peer-starts and rk.crossing run.
 */
export const OURS = {
  server: `${SHS} listen "$SHS_CONFORMANCE_HOST:$SHS_CONFORMANCE_PORT" --keys "$SHS_CONFORMANCE_KEYS_FILE" --network-key "$SHS_CONFORMANCE_NETWORK_KEY" --exec cat --rekey-after-bytes 1M`,
  client: `${SHS} connect "$SHS_CONFORMANCE_ADDRESS" --keys "$SHS_CONFORMANCE_KEYS_FILE" --network-key "$SHS_CONFORMANCE_NETWORK_KEY" --rekey prefer --rekey-after-bytes 1M`
}

export interface BuiltPeers {
  readonly peers: readonly Peer[]
  /** A vendored peer's program, for the interop tests. */
  readonly programs: Readonly<Record<Exclude<PeerName, 'reference'>, string>>
  remove: () => Promise<void>
}

/** Builds the three vendored peers side by side (each build.sh installs what it needs when run as root). */
export async function buildPeers (): Promise<BuiltPeers> {
  const shared = sharedDir()
  const dir = await mkdtemp(join(tmpdir(), 'shs-peers-'))
  const build = async (folder: string, program: string): Promise<string> =>
    (await run(join(shared, 'peers', folder, 'build.sh'), [join(dir, program)], { maxBuffer: 1 << 20 })).stdout.trim()
  try {
    const [go, python, c] = await Promise.all([build('go-secretstream', 'shsgo'), build('python-ssb', 'shspy'), build('shs1-c', 'shs1c')])
    const reference = (role: string): string => `${NODE} "${join(ROOT, `scripts/conformance/reference-${role}.ts`)}"`
    return {
      peers: [
        { name: 'reference', server: reference('server'), client: reference('client') },
        // -mode raw: goodbye, then half-close, as the suite's echo checks expect.
        { name: 'go-secretstream', server: `"${go}" server ${LISTEN} -mode raw >/dev/null`, client: `"${go}" pipe ${DIAL}` },
        { name: 'python-ssb', server: `"${python}" server ${LISTEN} >/dev/null`, client: `"${python}" pipe ${DIAL}` },
        { name: 'shs1-c', server: `"${c}" server ${LISTEN} >/dev/null`, client: `"${c}" pipe ${DIAL}` }
      ],
      programs: { 'go-secretstream': go, 'python-ssb': python, 'shs1-c': c },
      remove: async () => { await rm(dir, { recursive: true, force: true }) }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}
