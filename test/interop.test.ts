/**
 * Live interop over real TCP sockets with Scuttlebutt's reference packages: our client against
 * their server and their client against our server, data both ways at once, goodbye both ways.
 */
import assert from 'node:assert/strict'
import {
  SSB_NETWORK_KEY, type SecureStream, ShsError, connect, generateKeyPair, listen
} from '../src/index.ts'
import { collect, concat, randomPayload, splitIrregular } from './helpers/bytes.ts'
import { referenceClient, startReferenceServer } from './helpers/reference.ts'

const serverKeys = generateKeyPair()
const clientKeys = generateKeyPair()
const PAYLOAD_SIZES = [1, 4095, 4096, 4097, 65_537, 3 * 1024 * 1024]

describe('interop with secret-handshake@1.1.21 + pull-box-stream@1.0.13 over TCP', function () {
  this.timeout(60_000)

  describe('our client → reference server', () => {
    for (const size of PAYLOAD_SIZES) {
      it(`sends ${size} bytes and receives ${size} other bytes at the same time, byte-identical`, async () => {
        const toServer = randomPayload(size)
        const toClient = randomPayload(size)
        const server = await startReferenceServer(serverKeys, SSB_NETWORK_KEY, { reply: splitIrregular(toClient, [4097, 1, 4095, 4096]) })
        try {
          const stream = await connect({ host: '127.0.0.1', port: server.port, keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY })
          assert.deepEqual(stream.remotePublicKey, serverKeys.publicKey)
          const [received] = await Promise.all([collect(stream.source), stream.sink(splitIrregular(toServer))])
          assert.deepEqual(received, toClient, 'what the reference sent arrived intact and ended with its goodbye')
          const session = await server.sessions[0]
          assert.deepEqual(session?.received, toServer, 'what we sent arrived intact and ended with our goodbye')
          assert.deepEqual(session?.remote, clientKeys.publicKey)
        } finally {
          await server.close()
        }
      })
    }

    it('gets its own data echoed back', async () => {
      const payload = randomPayload(1024 * 1024)
      const server = await startReferenceServer(serverKeys, SSB_NETWORK_KEY, { echo: true })
      try {
        const stream = await connect({ host: '127.0.0.1', port: server.port, keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY })
        const [echoed] = await Promise.all([collect(stream.source), stream.sink(splitIrregular(payload))])
        assert.deepEqual(echoed, payload)
      } finally {
        await server.close()
      }
    })

    it('explains a reference server with another network key as a hang-up after our first message', async () => {
      const server = await startReferenceServer(serverKeys, randomPayload(32), { echo: true })
      try {
        await assert.rejects(connect({ host: '127.0.0.1', port: server.port, keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY }),
          (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_HELLO')
      } finally {
        await server.close()
      }
    })

    it('explains a reference server that refuses us as a hang-up after message 3', async () => {
      const server = await startReferenceServer(serverKeys, SSB_NETWORK_KEY, { echo: true }, false)
      try {
        await assert.rejects(connect({ host: '127.0.0.1', port: server.port, keys: clientKeys, remotePublicKey: serverKeys.publicKey, networkKey: SSB_NETWORK_KEY }),
          (err: unknown) => err instanceof ShsError && err.code === 'ERR_SHS_SERVER_HUNG_UP_AFTER_AUTH')
      } finally {
        await server.close()
      }
    })
  })

  describe('reference client → our server', () => {
    for (const size of PAYLOAD_SIZES) {
      it(`receives ${size} bytes and sends ${size} other bytes at the same time, byte-identical`, async () => {
        const toServer = randomPayload(size)
        const toClient = randomPayload(size)
        const onServer: Array<Promise<{ remote: Uint8Array, received: Uint8Array }>> = []
        const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream: SecureStream) => {
          onServer.push(Promise.all([collect(stream.source), stream.sink(splitIrregular(toClient, [4096, 4097, 3]))])
            .then(([received]) => ({ remote: stream.remotePublicKey, received })))
        })
        try {
          const result = await referenceClient(clientKeys, SSB_NETWORK_KEY, serverKeys.publicKey, listener.address().port, splitIrregular(toServer), size)
          assert.deepEqual(result.received, toClient)
          assert.deepEqual(result.remote, serverKeys.publicKey)
          assert.equal(onServer.length, 1)
          const server = await onServer[0]
          assert.deepEqual(server?.received, toServer)
          assert.deepEqual(server?.remote, clientKeys.publicKey)
        } finally {
          await listener.close()
        }
      })
    }

    it('is echoed back by our server', async () => {
      const payload = concat([randomPayload(4095), randomPayload(4097), randomPayload(200_000)])
      const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY }, (stream) => { void stream.sink(stream.source) })
      try {
        const result = await referenceClient(clientKeys, SSB_NETWORK_KEY, serverKeys.publicKey, listener.address().port, splitIrregular(payload), payload.byteLength)
        assert.deepEqual(result.received, payload)
      } finally {
        await listener.close()
      }
    })

    it('refuses a reference client that dials with the wrong server key, never calling onStream', async () => {
      let streams = 0
      const errors: string[] = []
      const listener = await listen({ port: 0, keys: serverKeys, networkKey: SSB_NETWORK_KEY, onHandshakeError: (err) => errors.push(err.code) }, () => { streams++ })
      try {
        await assert.rejects(referenceClient(clientKeys, SSB_NETWORK_KEY, generateKeyPair().publicKey, listener.address().port, [], 0))
        assert.equal(streams, 0)
        assert.deepEqual(errors, ['ERR_SHS_INVALID_CLIENT_AUTH'])
      } finally {
        await listener.close()
      }
    })
  })
})
