import { generateKeyPair, connect, listen, SSB_NETWORK_KEY } from 'shs-transport'

const serverKeys = generateKeyPair()           // { publicKey: 32 bytes, secretKey: 64 bytes }
const clientKeys = generateKeyPair()

// The server: every client that knows its public key (and the network key) may connect.
const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => {
  stream.sink(stream.source)                   // echo
})

// The client must know the server's public key before it dials: SHS does not answer strangers.
const stream = await connect({
  host: '127.0.0.1',
  port: listener.address().port,
  keys: clientKeys,
  remotePublicKey: serverKeys.publicKey,
  networkKey: SSB_NETWORK_KEY
})
const sent = stream.sink([new TextEncoder().encode('hello')])   // ends with goodbye (a half-close)
for await (const chunk of stream.source) console.log('echoed:', new TextDecoder().decode(chunk))
await sent
await listener.close()
