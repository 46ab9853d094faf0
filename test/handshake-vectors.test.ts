/** The reference implementation's 159 recorded calls (test/helpers/vectors.ts) on this process's backend. */
import assert from 'node:assert/strict'
import { checkVector, checks, vectors } from './helpers/vectors.ts'

describe('handshake: the reference implementation\'s recorded vectors', () => {
  it('covers every recorded call (159) and every step name', () => {
    assert.equal(vectors.length, 159)
    for (const vector of vectors) assert.ok(vector.name in checks, `no check for ${vector.name}`)
  })

  vectors.forEach((vector, index) => {
    const outcome = vector.result === null ? ' (refused)' : ''
    it(`vector ${index}: ${vector.name}${outcome}`, () => {
      checkVector(vector)
    })
  })
})
