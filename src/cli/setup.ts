/** Turning the shared options into what the connection code needs, with the CLI's error messages. */
import { loadKeyFile } from './keyfile.ts'
import type { Log } from './log.ts'
import { parseNetworkKey } from './network-key.ts'
import { defaultKeysPath } from './paths.ts'
import type { Identity } from './secure-net.ts'

export async function loadIdentity (options: { keys?: string | undefined, networkKey?: string | undefined }, log: Log): Promise<Identity> {
  // Parse the network key first: a typo there is a usage error and needs no file access.
  const networkKey = parseNetworkKey(options.networkKey)
  const path = options.keys ?? defaultKeysPath()
  const { keys } = await loadKeyFile(path, (message) => { log.warn(message) })
  log.verbose(`using the key in ${path}`)
  return { keys, networkKey }
}
