/** How addresses appear in messages. */

/** `host:port`, with an IPv6 host in brackets so the port stays unambiguous (`[::1]:8008`). */
export function formatHostPort ({ host, port }: { host: string, port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
