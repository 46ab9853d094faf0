/**
 * Where `shs` keeps its identity by default. Not `~/.ssb/secret`: that file belongs to other
 * Scuttlebutt software, and a second program using the same identity would fork its feed.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'

export const KEYS_ENV = 'SHS_KEYS'

export function defaultKeysPath (): string {
  const fromEnv = process.env[KEYS_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  const configHome = process.env.XDG_CONFIG_HOME
  const base = configHome !== undefined && configHome !== '' ? configHome : join(homedir(), '.config')
  return join(base, 'shs', 'secret')
}

/** For --help: the rule, not a path computed from this user's environment. */
export const DEFAULT_KEYS_HELP = `$${KEYS_ENV}, else $XDG_CONFIG_HOME/shs/secret, else ~/.config/shs/secret`
