/**
 * libp2p's own connection-encrypter compliance suite, run against shs(): wrapping a duplex,
 * echoing 10 000 small writes byte for byte, returning the right peer ids, and refusing an
 * inbound peer that is not the expected one with `UnexpectedPeerError`.
 */
import suite from '@libp2p/interface-compliance-tests/connection-encryption'
import { defaultLogger } from '@libp2p/logger'
import { shs } from '../../src/libp2p/index.ts'

describe('libp2p connection-encryption compliance: shs()', () => {
  suite({
    async setup (args) {
      if (args === undefined) throw new Error('the compliance suite always passes a private key')
      return shs()({ privateKey: args.privateKey, logger: defaultLogger() })
    },
    async teardown () {}
  })
})
