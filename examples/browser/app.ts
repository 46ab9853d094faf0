/**
 * The example page's script: a fresh identity, a secret handshake with the server named in
 * config.json, one message there and back. Built for the browser by serve.ts.
 */
import { SSB_NETWORK_KEY, connectWebSocket, formatId, generateKeyPair, parseId } from '../../src/browser.ts'

interface Config { url: string, serverId: string }
interface Element { textContent: string | null, className: string }
const page = (globalThis as unknown as { document: { getElementById: (id: string) => Element | null } }).document

function show (id: string, text: string): void {
  const element = page.getElementById(id)
  if (element !== null) element.textContent = text
}

async function main (): Promise<void> {
  const config = await (await fetch('config.json')).json() as Config
  const keys = generateKeyPair()
  show('client', formatId(keys.publicKey))
  show('server', config.serverId)
  show('address', config.url)

  const started = performance.now()
  const stream = await connectWebSocket({ url: config.url, keys, remotePublicKey: parseId(config.serverId), networkKey: SSB_NETWORK_KEY })
  show('handshake', `${(performance.now() - started).toFixed(1)} ms, server proved ${formatId(stream.remotePublicKey)}`)

  const message = `hello over the secret handshake, sent at ${new Date().toISOString()}`
  show('sent', message)
  // The server echoes until our goodbye, which ending the sink sends.
  const [reply] = await Promise.all([readAll(stream.source), stream.sink([new TextEncoder().encode(message)])])
  show('echoed', reply)
  const status = page.getElementById('status')
  if (status !== null) {
    status.textContent = reply === message ? 'Handshake complete, message echoed.' : 'The echo differs from what was sent!'
    status.className = reply === message ? 'ok' : 'failed'
  }
}

async function readAll (source: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of source) text += decoder.decode(chunk, { stream: true })
  return text + decoder.decode()
}

main().catch((err: unknown) => {
  const status = page.getElementById('status')
  if (status !== null) { status.textContent = `Failed: ${String(err)}`; status.className = 'failed' }
})
