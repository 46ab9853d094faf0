/**
 * `npm run example:browser`: builds the page's script for the browser, starts an SHS echo server
 * on WebSocket (what `shs listen --ws` runs) and a static server for the page, both on 127.0.0.1,
 * and prints the page's address.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { SSB_NETWORK_KEY, formatId, generateKeyPair, listenWebSocket } from '../../src/index.ts'
import { bundle } from '../../scripts/browser/harness.ts'

const HOST = '127.0.0.1'

export interface Example {
  /** The page's address. */
  url: string
  /** The echo server's Scuttlebutt id, which the page shows. */
  serverId: string
  close (): Promise<void>
}

export async function startExample (): Promise<Example> {
  const script = (await bundle('examples/browser/app.ts', { minify: true })).code
  const html = await readFile(new URL('index.html', import.meta.url), 'utf8')
  const keys = generateKeyPair()
  const echo = await listenWebSocket({ host: HOST, port: 0, keys, networkKey: SSB_NETWORK_KEY }, (stream) => {
    stream.sink(stream.source).catch((err: unknown) => { console.error(`an echo ended with an error: ${String(err)}`) })
  })
  const config = JSON.stringify({ url: `ws://${HOST}:${echo.address().port}`, serverId: formatId(keys.publicKey) })
  const files: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', html],
    '/index.html': ['text/html; charset=utf-8', html],
    '/app.js': ['text/javascript; charset=utf-8', script],
    '/config.json': ['application/json', config]
  }
  const web = http.createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://localhost').pathname]
    if (file === undefined) { response.writeHead(404).end('not found'); return }
    response.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1])
  })
  await new Promise<void>((resolve) => { web.listen(0, HOST, resolve) })
  return {
    url: `http://${HOST}:${(web.address() as AddressInfo).port}/`,
    serverId: formatId(keys.publicKey),
    close: async () => {
      web.closeAllConnections()
      await Promise.all([new Promise<void>((resolve) => { web.close(() => { resolve() }) }), echo.close()])
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const example = await startExample()
  console.log(`Open ${example.url} (echo server ${example.serverId}); Ctrl-C stops.`)
  process.once('SIGINT', () => { void example.close() })
}
