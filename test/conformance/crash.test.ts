/** How a peer's crash is recognised: its exit, and the crash reports it prints on stderr. */
import assert from 'node:assert/strict'
import { type Evidence, StderrScanner, describeExit, isCrashExit } from '../../src/conformance/crash.ts'

/** What the scanner reports for `text`, fed in pieces of `piece` bytes (a report may come in any chunks). */
function scan (text: string, piece = 7): Evidence[] {
  const found: Evidence[] = []
  const scanner = new StderrScanner((evidence) => { found.push(evidence) })
  const bytes = Buffer.from(text)
  for (let offset = 0; offset < bytes.byteLength; offset += piece) scanner.feed(bytes.subarray(offset, offset + piece))
  scanner.end()
  return found
}

const FRAMES = '  File "peer.py", line 12, in handle\n    await handshake(reader, writer)\n'

describe('shs-transport/conformance: crash evidence', () => {
  it('an exit by a crash signal, a panic status or an abort as a shell reports it is a crash; an ordinary status is not', () => {
    assert.equal(isCrashExit({ code: null, signal: 'SIGSEGV' }), true)
    assert.equal(isCrashExit({ code: 101, signal: null }), true)
    assert.equal(isCrashExit({ code: 134, signal: null }), true)
    assert.equal(isCrashExit({ code: 1, signal: null }), false)
    assert.equal(isCrashExit({ code: null, signal: 'SIGTERM' }), false)
    assert.equal(describeExit({ code: 101, signal: null }), 'exited with status 101 (the status of a Rust panic)')
    assert.equal(describeExit({ code: 134, signal: null }), 'exited with status 134 (death by SIGABRT, as the shell reports it)')
  })

  it('recognises Go and Rust panics, an uncaught Node exception, sanitizer reports, each once, with the line that says what broke', () => {
    assert.deepEqual(scan('starting\npanic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n').map((e) => e.what),
      ['printed a Go panic on stderr (panic: runtime error: index out of range [3] with length 3)'])
    assert.deepEqual(scan("thread 'main' panicked at src/main.rs:4:5:\nboom\n").map((e) => e.what),
      ["printed a Rust panic on stderr (thread 'main' panicked at src/main.rs:4:5:)"])
    assert.deepEqual(scan('file:///x.js:1\nthrow new Error("x")\n^\n\nTypeError: bad thing\n    at file:///x.js:1:7\n\nNode.js v24.21.0\n').map((e) => e.what),
      ['printed an uncaught JavaScript exception on stderr (TypeError: bad thing)'])
    assert.equal(scan('==123==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n').length, 1)
  })

  it('a Python traceback is a report named by its exception; each traceback of a chain is one', () => {
    assert.deepEqual(scan(`Traceback (most recent call last):\n${FRAMES}peer.HandshakeError: bad hello\n`).map((e) => e.what),
      ['printed a Python traceback on stderr (peer.HandshakeError: bad hello)'])
    const chained = `Traceback (most recent call last):\n${FRAMES}KeyError: 'k'\n\nDuring handling of the above exception, another exception occurred:\n\n` +
      `Traceback (most recent call last):\n${FRAMES}RuntimeError: while handling\n`
    assert.deepEqual(scan(chained).map((e) => e.what), ["printed a Python traceback on stderr (KeyError: 'k')", 'printed a Python traceback on stderr (RuntimeError: while handling)'])
  })

  it('asyncio\'s late report is marked deferred, even printed in the middle of another traceback, which keeps its own exception', () => {
    const late = 'Task exception was never retrieved\nfuture: <Task finished name=\'Task-6\' coro=<handle()> exception=IncompleteReadError(\'0 bytes\')>\n' +
      `Traceback (most recent call last):\n${FRAMES}asyncio.exceptions.IncompleteReadError: 0 bytes read\n`
    const text = `shspy server#4: handshake raised:\nTraceback (most recent call last):\n${late}${FRAMES}nacl.exceptions.CryptoError: decrypt failed\n`
    assert.deepEqual(scan(text, 5), [
      { crash: true, what: 'printed a Python traceback on stderr (asyncio.exceptions.IncompleteReadError: 0 bytes read)', deferred: true },
      { crash: true, what: 'printed a Python traceback on stderr (nacl.exceptions.CryptoError: decrypt failed)' }
    ])
  })

  it('ordinary logging is no crash report, and a line longer than the scanner keeps is cut, not buffered', () => {
    assert.deepEqual(scan('shsgo pipe: handshake: secretstream: don\'t panic\nerror: fatal error in the peer\nRESULT ok\n'), [])
    assert.deepEqual(scan(`${'x'.repeat(1_000_000)}\npanic: late\n`, 65536).map((e) => e.what), ['printed a Go panic on stderr (panic: late)'])
  })
})
