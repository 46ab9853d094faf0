/**
 * `npm run demo`: a listener and a client on 127.0.0.1, a message each way, then a few MiB
 * one way with the throughput. Finishes by itself.
 */
import { toString } from 'uint8arrays/to-string'
import { SSB_NETWORK_KEY, connect, generateKeyPair, listen, type SecureStream } from '../src/index.ts'

const DEMO_BYTES = 8 * 1024 * 1024
const CHUNK_BYTES = 64 * 1024
const id = (publicKey: Uint8Array): string => `@${toString(publicKey, 'base64pad')}.ed25519`
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
console.log(`server identity  ${id(serverKeys.publicKey)}`)
console.log(`client identity  ${id(clientKeys.publicKey)}`)

/** The server reads the greeting, answers it, then counts everything else the client sends. */
async function serve (stream: SecureStream): Promise<void> {
  const iterator = stream.source[Symbol.asyncIterator]()
  const greeting = await iterator.next()
  console.log(`server received  "${text(greeting.value as Uint8Array)}" from ${id(stream.remotePublicKey)}`)
  const reply = stream.sink([new TextEncoder().encode('hello, client')])
  let received = 0
  for (let chunk = await iterator.next(); chunk.done !== true; chunk = await iterator.next()) received += chunk.value.byteLength
  await reply
  console.log(`server received  ${received} bytes, then the client's goodbye`)
}

let served: Promise<void> = Promise.resolve()
const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => { served = serve(stream) })
const { host, port } = listener.address()
console.log(`listening on     ${host}:${port}`)

const handshakeStarted = performance.now()
const stream = await connect({ host, port, keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY })
console.log(`handshake        ${(performance.now() - handshakeStarted).toFixed(1)} ms (TCP connect + SHS1)`)

let transferStarted = 0
let markReply: () => void = () => {}
const replyArrived = new Promise<void>((resolve) => { markReply = resolve })
const chunk = new Uint8Array(CHUNK_BYTES).fill(42)
const sent = stream.sink((async function * () {
  yield new TextEncoder().encode('hello, server')
  // Wait for the reply so the greeting is not coalesced with the bulk data.
  await replyArrived
  transferStarted = performance.now()
  for (let sentBytes = 0; sentBytes < DEMO_BYTES; sentBytes += CHUNK_BYTES) yield chunk
})())
for await (const message of stream.source) {
  console.log(`client received  "${text(message)}"`)
  markReply()
}
await sent
await served
const seconds = (performance.now() - transferStarted) / 1000
console.log(`throughput       ${(DEMO_BYTES / 1024 / 1024 / seconds).toFixed(0)} MiB/s (${DEMO_BYTES / 1024 / 1024} MiB, encrypted and authenticated, one process)`)
await listener.close()
