/**
 * `shs listen -k`, as `nc -lk`: the stdin/stdout server keeps listening after a client and
 * serves the next, one at a time, in the order they came; stdin goes to whoever is connected.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type ShsProcess, useSandboxWithKeys } from './helpers.ts'

describe('shs CLI: listen -k (keep listening)', function () {
  this.timeout(30_000)
  const keyed = useSandboxWithKeys()

  function connect (address: string | undefined): ShsProcess {
    return keyed.sandbox.start(['connect', address ?? '', '--keys', keyed.client.path])
  }

  function startServer (...args: string[]): ShsProcess {
    return keyed.sandbox.start(['listen', ...args, '127.0.0.1:0', '--keys', keyed.server.path])
  }

  it('serves clients one after another, each one\'s data to stdout, and keeps listening', async () => {
    const listen = startServer('-k', '--verbose')
    listen.child.stdin?.end()
    const { address } = await listen.listening()
    for (const text of ['first client\n', 'second client\n', 'third client\n']) {
      const result = await keyed.sandbox.run(['connect', address ?? '', '--keys', keyed.client.path], text)
      assert.equal(result.code, 0, result.stderr)
      assert.equal(result.stdout.length, 0, 'stdin had ended: each client gets its end at once')
    }
    await listen.waitForStderr(/#3 done; listening for the next client/)
    assert.equal(listen.stdout.toString('utf8'), 'first client\nsecond client\nthird client\n')
    assert.equal(listen.child.exitCode, null, 'still listening')
  })

  it('one at a time: a client that comes during a session waits, and is served after it', async () => {
    const listen = startServer('-k')
    listen.child.stdin?.end()
    const { address } = await listen.listening()
    const first = connect(address)
    first.child.stdin?.write('from the first, ')
    await listen.waitForStderr(/#1 accepted/)
    const second = connect(address)
    second.child.stdin?.end('from the second\n')
    await listen.waitForStderr(/#2 waits: stdin\/stdout belong to #1 until it is done/)
    assert.equal(second.child.exitCode, null, 'the second waits its turn')
    first.child.stdin?.end('until its end\n')
    assert.equal(await first.exited, 0, first.stderr)
    assert.equal(await second.exited, 0, second.stderr)
    assert.equal(listen.stdout.toString('utf8'), 'from the first, until its end\nfrom the second\n')
  })

  it('stdin goes to whoever is connected: what a vanished client did not get goes to the next', async () => {
    const listen = startServer('-k')
    const { address } = await listen.listening()
    listen.child.stdin?.write('one\n')
    const first = connect(address)
    const [firstBytes] = await once(first.child.stdout as NodeJS.EventEmitter, 'data') as [Buffer]
    assert.equal(firstBytes.toString('utf8'), 'one\n')
    first.kill()
    await listen.waitForStderr(/#1 the connection ended without the peer's goodbye/)

    const second = connect(address)
    second.child.stdin?.end()
    await listen.waitForStderr(/#2 accepted/)
    listen.child.stdin?.end('two\n')
    assert.equal(await second.exited, 0, second.stderr)
    assert.equal(second.stdout.toString('utf8'), 'two\n')
    assert.equal(listen.child.exitCode, null, 'still listening')
  })

  it('without -k the server ends with its one client', async () => {
    const listen = startServer()
    listen.child.stdin?.end()
    const { address } = await listen.listening()
    const result = await keyed.sandbox.run(['connect', address ?? '', '--keys', keyed.client.path], 'only\n')
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await listen.exited, 0, listen.stderr)
    assert.equal(listen.stdout.toString('utf8'), 'only\n')
  })
})
