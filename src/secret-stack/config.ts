/**
 * secret-stack 6 and 7 (the ssb-server era; ssb-room still pins 6.3.0) hand every plugin the
 * app's whole config, flat: `caps`, `keys`, `timers` at the top. secret-stack 8 moved the shared
 * settings under `global` and adds the plugin's own section beside it. The plugin reads the
 * version 8 layout; this turns the older one into it.
 */

/** The config as secret-stack 8 passes it to a plugin named `multiserver-shs`. */
export interface Version8Layout<Shared extends object, Own> {
  global: Shared
  multiserverShs?: Own
}

/**
 * Version 8 always sets `global` (to `{}` when the app gave none); versions 6 and 7 never do.
 * The older versions had no plugin sections, so a flat config brings none either, as with their
 * stock plugin, which never read `multiserverShs`.
 */
export function inVersion8Layout<Shared extends object, Own> (config: Version8Layout<Shared, Own> | Shared): Version8Layout<Shared, Own> {
  return 'global' in config ? config as Version8Layout<Shared, Own> : { global: config }
}
