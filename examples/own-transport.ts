/**
 * The connection machine on a transport of your own. `Pipe` below stands for it (a serial
 * line, a message queue, a datagram link would do): it only sends bytes and hands over what
 * arrives. SecretHandshake runs the handshake; then a BoxStream per side turns the bytes that
 * arrive into events, and plaintext into bytes to send.
 * Run it with `node examples/own-transport.ts` after `npm run build`, or with Deno or Bun.
 */
import { BoxStream, type BoxStreamEvent, SSB_NETWORK_KEY, SecretHandshake, generateKeyPair } from 'shs-transport'

/** One end of an in-process byte pipe: what `send` sends arrives at the other end's `onBytes`, later. */
class Pipe {
  other: Pipe | undefined
  onBytes: (bytes: Uint8Array) => void = () => {}
  send (bytes: Uint8Array): void { queueMicrotask(() => { this.other?.onBytes(bytes.slice()) }) }
}

async function peer (name: string, machine: SecretHandshake, pipe: Pipe, say: string): Promise<void> {
  let received = new Uint8Array(0) // the transport may split or join messages: keep what came
  let wake = (): void => {}
  pipe.onBytes = (bytes) => { received = new Uint8Array([...received, ...bytes]); wake() }
  let action = machine.next()
  while (action.type !== 'complete') {
    if (action.type === 'write') pipe.send(action.bytes)
    else if (action.type === 'authorize') machine.authorize(true) // the server's decision on the client's key
    else {
      while (received.byteLength < action.length) await new Promise<void>((resolve) => { wake = resolve })
      machine.receive(received.slice(0, action.length)) // throws a typed error if the bytes are wrong
      received = received.slice(action.length)
    }
    action = machine.next()
  }
  const box = new BoxStream(action.session)
  await new Promise<void>((resolve) => {
    const act = (events: readonly BoxStreamEvent[]): void => {
      for (const event of events) {
        if (event.type === 'data') console.log(`${name} reads: ${new TextDecoder().decode(event.plaintext)}`)
        else if (event.type === 'goodbye') console.log(`${name}: the peer said goodbye`)
        else if (event.type === 'failed') console.log(`${name}: ${event.error.message}`)
        if (event.type === 'finished' || event.type === 'failed') resolve() // here: close the transport
      }
    }
    pipe.onBytes = (bytes) => { act(box.receive(bytes)) }
    if (received.byteLength > 0) act(box.receive(received)) // box-stream bytes that came with the handshake
    pipe.send(box.send(new TextEncoder().encode(say)))
    const goodbye = box.goodbye() // a half-close: we may still read
    pipe.send(goodbye.bytes)
    if (goodbye.finished) resolve()
  })
}

const [clientEnd, serverEnd] = [new Pipe(), new Pipe()]
clientEnd.other = serverEnd
serverEnd.other = clientEnd
const serverKeys = generateKeyPair()
await Promise.all([
  peer('client', SecretHandshake.client({ keys: generateKeyPair(), networkKey: SSB_NETWORK_KEY, remotePublicKey: serverKeys.publicKey }), clientEnd, 'hello, server'),
  peer('server', SecretHandshake.server({ keys: serverKeys, networkKey: SSB_NETWORK_KEY }), serverEnd, 'hello, client')
])
