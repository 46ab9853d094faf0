/** Advice the suite gives about a target that is not serving as the checks need. */

/** How `shs listen` serves every client and echoes, which the box-stream checks need. */
export const ECHO_SERVER_HINT = 'for `shs listen`, add `--exec cat` (it then serves every client and echoes, ' +
  'as the box-stream checks need; `-k` keeps it accepting, but does not echo)'
