/**
 * The package's own version and issue tracker, read from package.json at run time (not
 * imported), so each is written down once and the same relative path works from src/cli and
 * dist/cli.
 */
import { readFileSync } from 'node:fs'

interface PackageInfo {
  version: string
  /** Where bugs are reported. */
  bugsUrl: string
}

/** Read on each call: it is needed once per run (--version, or a bug report). */
export function packageInfo (): PackageInfo {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown, bugs?: { url?: unknown } }
  return {
    version: typeof manifest.version === 'string' ? manifest.version : '0.0.0',
    bugsUrl: typeof manifest.bugs?.url === 'string' ? manifest.bugs.url : 'the project\'s issue tracker'
  }
}
