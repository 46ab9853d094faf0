/**
 * What a browser build of shs-transport's core holds, for the bundle-size row of
 * `npm run bench:backends`: the handshake state machine, the box-stream codecs and key handling,
 * with whichever crypto backend the build selects.
 */
export { generateKeyPair } from '../../src/crypto/keys.ts'
export { SecretHandshake } from '../../src/handshake/machine.ts'
export { BoxStreamEncoder } from '../../src/boxstream/encoder.ts'
export { BoxStreamDecoder } from '../../src/boxstream/decoder.ts'
