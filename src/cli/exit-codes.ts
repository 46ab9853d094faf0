/**
 * The `shs` command's exit codes. Scripts branch on these, so a code never changes meaning;
 * docs/README-cli.md has the same table.
 */
export const EXIT = {
  /** Everything worked; for `conformance`, every check passed. */
  OK: 0,
  /** An unexpected failure: a bug in shs, reported in one line. */
  INTERNAL: 1,
  /** Bad command line: unknown option, malformed address, network key or --remote id. */
  USAGE: 2,
  /** A key file or --allow file is missing, unreadable or malformed, or keygen would overwrite one. */
  KEYS: 3,
  /** The handshake was refused or failed: wrong network key, wrong server key, not allowed, not SHS. */
  HANDSHAKE_REFUSED: 4,
  /** The handshake (or the TCP connection before it) did not finish within --timeout. */
  TIMEOUT: 5,
  /** TCP failed before a secure stream existed: nothing listening, unreachable host, address in use. */
  NETWORK: 6,
  /** An established secure stream ended badly: no goodbye (FIN or reset), or data failed authentication. */
  STREAM: 7,
  /** `shs conformance` ran and at least one check failed. */
  CONFORMANCE_FAILED: 8,
  /** Interrupted by SIGINT (Ctrl-C), as shells report it: 128 + 2. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM: 128 + 15. */
  TERMINATED: 143
} as const

export type ExitCode = typeof EXIT[keyof typeof EXIT]
