/** `shs listen`'s handling of server errors that are not about one handshake (src/cli/server-errors.ts), on a fake clock. */
import assert from 'node:assert/strict'
import { ACCEPT_LOG_INTERVAL_MS, serverErrorLogger } from '../../src/cli/server-errors.ts'
import { Log } from '../../src/cli/log.ts'
import { AcceptError, ConnectionError } from '../../src/index.ts'

describe('shs listen: accept errors are logged at most once a second', () => {
  it('logs the first, counts the rest within the interval, names them in the next line; a stream teardown is not logged', () => {
    const lines: string[] = []
    let now = 0
    const onError = serverErrorLogger(new Log(false, (line) => { lines.push(line) }), () => now)
    const emfile = new AcceptError('EMFILE')
    onError(emfile)
    for (let i = 0; i < 5; i++) {
      now += ACCEPT_LOG_INTERVAL_MS / 10
      onError(emfile)
    }
    assert.equal(lines.length, 1)
    assert.match(lines[0] ?? '', /^shs: warning: the server cannot accept connections \(EMFILE\): this process has no file descriptor left; raise its limit \(ulimit -n\)/)
    now += ACCEPT_LOG_INTERVAL_MS
    onError(emfile)
    assert.equal(lines.length, 2)
    assert.match(lines[1] ?? '', /\(and 5 more since the last such line\)\n$/)
    onError(new ConnectionError('the peer went away'))
    assert.equal(lines.length, 2)
  })
})
