// The browser bundle built from the published dist/ (no `shs-source` condition), as a package
// consumer's bundler builds it. Plain JavaScript: dist/ is build output, not type-checked source.
export { backendName } from '#crypto-backend'
export { asKeyPair, generateKeyPair } from '../../dist/crypto/keys.js'
