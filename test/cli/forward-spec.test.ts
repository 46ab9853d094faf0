/** `-L` as ssh spells it, parsed without starting anything: every form, and the mistakes it names. */
import assert from 'node:assert/strict'
import { parseLocalForward } from '../../src/cli/address.ts'
import { CliError } from '../../src/cli/errors/cli-error.ts'

describe('shs CLI: the -L spec', () => {
  const cases: Record<string, ReturnType<typeof parseLocalForward>> = {
    8080: { listen: { host: '127.0.0.1', port: 8080 }, target: undefined },
    '10.0.0.1:8080': { listen: { host: '10.0.0.1', port: 8080 }, target: undefined },
    '8080:127.0.0.1:80': { listen: { host: '127.0.0.1', port: 8080 }, target: { host: '127.0.0.1', port: 80 } },
    '10.0.0.1:8080:db.internal:5432': { listen: { host: '10.0.0.1', port: 8080 }, target: { host: 'db.internal', port: 5432 } },
    '*:8080:127.0.0.1:80': { listen: { host: '0.0.0.0', port: 8080 }, target: { host: '127.0.0.1', port: 80 } },
    ':8080:127.0.0.1:80': { listen: { host: '0.0.0.0', port: 8080 }, target: { host: '127.0.0.1', port: 80 } },
    '[::1]:8080:[fd00::2]:80': { listen: { host: '::1', port: 8080 }, target: { host: 'fd00::2', port: 80 } },
    '0:[::1]:22': { listen: { host: '127.0.0.1', port: 0 }, target: { host: '::1', port: 22 } }
  }
  for (const [spec, expected] of Object.entries(cases)) {
    it(`reads ${spec}`, () => { assert.deepEqual(parseLocalForward(spec, '-L'), expected) })
  }

  for (const spec of ['', 'web', '8080:127.0.0.1', '1:2:3:4:5', '8080:127.0.0.1:0', '8080::80', '[::1:8080', '[::1]x:8080', '8080:127.0.0.1:70000']) {
    it(`refuses ${JSON.stringify(spec)} with a usage error that shows it`, () => {
      assert.throws(() => parseLocalForward(spec, '-L'), (err: unknown) => {
        assert.ok(err instanceof CliError)
        assert.equal(err.exitCode, 2)
        assert.match(err.message, /^-L /)
        return true
      })
    })
  }
})
