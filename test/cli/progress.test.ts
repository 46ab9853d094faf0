/**
 * --progress on a real terminal: `shs` runs with its stderr on a pseudo-terminal (Python's pty
 * module, test/helpers/pty.py), the bytes it writes there are replayed into a terminal emulator
 * (@xterm/headless), and the tests read the resulting screen the way a person would.
 *
 * Why Python's pty: Node cannot open a pseudo-terminal without a native addon, and node-pty
 * builds with node-gyp, which itself needs python3 (plus a C++ compiler and Node's headers).
 * python3 is on every machine of this project's kind; `script` and tmux are Debian packages that
 * a fresh machine may lack.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import xterm from '@xterm/headless'
import { createProgress, type ProgressClock } from '../../src/cli/progress.ts'
import { useSandbox } from './helpers.ts'

const PTY = fileURLToPath(new URL('../helpers/pty.py', import.meta.url))
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
/** Narrower than the lines shs prints, so they must wrap (not be cut) to be read whole. */
const COLUMNS = 60
const ROWS = 30
const MiB = 1024 * 1024
/** Escape sequences that save or restore the cursor, or turn off line wrap: none may appear. */
const FORBIDDEN = ['\u001b7', '\u001b8', '\u001b[s', '\u001b[u', '\u001b[?7l']

interface OnTerminal {
  child: ChildProcess
  output: () => Buffer
  waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>
  exited: Promise<number | null>
}

/** Starts `shs ARGS` with stderr on a COLUMNS × ROWS pseudo-terminal. */
function onTerminal (args: readonly string[], env: NodeJS.ProcessEnv): OnTerminal {
  const child = spawn('python3', [PTY, String(COLUMNS), String(ROWS), process.execPath, MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const chunks: Buffer[] = []
  const waiters = new Set<() => void>()
  let problem = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    for (const waiter of waiters) waiter()
  })
  child.stderr?.on('data', (chunk: Buffer) => { problem += chunk.toString() })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => { reject(new Error(`could not run python3 for the pseudo-terminal: ${err.message}`)) })
    child.once('close', (code) => {
      for (const waiter of waiters) waiter()
      resolve(code)
    })
  })
  const output = (): Buffer => Buffer.concat(chunks)
  const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => await new Promise((resolve, reject) => {
    const check = (): void => {
      const match = output().toString('utf8').match(pattern)
      if (match !== null) {
        waiters.delete(check)
        resolve(match)
      } else if (child.exitCode !== null) {
        waiters.delete(check)
        reject(new Error(`the terminal closed before ${String(pattern)} appeared:\n${output().toString()}${problem}`))
      }
    }
    waiters.add(check)
    check()
  })
  return { child, output, waitFor, exited }
}

/** What a terminal of this size shows after these bytes: logical lines (wrapped rows joined), and the cursor. */
async function screenOf (bytes: Buffer): Promise<{ lines: string[], cursor: { x: number, row: number }, rows: string[] }> {
  const terminal = new xterm.Terminal({ cols: COLUMNS, rows: ROWS, allowProposedApi: true })
  await new Promise<void>((resolve) => { terminal.write(bytes, resolve) })
  const buffer = terminal.buffer.active
  const rows: string[] = []
  const lines: string[] = []
  let cursorLine = 0
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y)
    if (line === undefined) break
    const text = line.translateToString(true)
    rows.push(text)
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text
    else lines.push(text)
    if (y === buffer.baseY + buffer.cursorY) cursorLine = lines.length - 1
  }
  terminal.dispose()
  while (lines.length > cursorLine + 1 && lines[lines.length - 1] === '') lines.pop()
  return { lines, cursor: { x: buffer.cursorX, row: cursorLine }, rows }
}

describe('shs CLI: --progress on a terminal', function () {
  this.timeout(30_000)
  const sandbox = useSandbox()
  const started: OnTerminal[] = []
  afterEach(async () => {
    for (const run of started.splice(0)) {
      if (run.child.exitCode === null) run.child.kill('SIGTERM')
      await run.exited.catch(() => {})
    }
  })

  it('listen: log lines stay whole above the progress line, which ends on a line of its own', async () => {
    const server = await sandbox().keygen('server')
    const client = await sandbox().keygen('client')
    const listen = onTerminal(['listen', '127.0.0.1:0', '--keys', server.path, '--progress', '--verbose'], sandbox().env)
    started.push(listen)
    const port = Number((await listen.waitFor(/listening on 127\.0\.0\.1:(\d+) /))[1])

    const sent = await sandbox().run(['connect', `127.0.0.1:${port}`, '--remote', server.id, '--keys', client.path], Buffer.alloc(MiB, 7))
    assert.equal(sent.code, 0, sent.stderr)
    assert.equal(await listen.exited, 0)

    const bytes = listen.output()
    for (const sequence of FORBIDDEN) assert.ok(!bytes.toString('latin1').includes(sequence), JSON.stringify(sequence))
    const { lines, cursor } = await screenOf(bytes)
    const key = server.id.slice(1, -'.ed25519'.length)

    // The address people copy is there in full, even though it is wider than the terminal.
    assert.ok(lines.includes(`shs: listening on 127.0.0.1:${port} as net:127.0.0.1:${port}~shs:${key}`), lines.join('\n'))
    assert.ok(lines.some((line) => /^shs: #1 accepted (\S+) from 127\.0\.0\.1:\d+$/.exec(line)?.[1] === client.id), lines.join('\n'))
    // A line logged while the progress line was up: on its own line, not mixed with it.
    const ended = lines.findIndex((line) => /^shs: stdio \+[\d.]+ ms both directions ended with goodbye$/.test(line))
    assert.ok(ended >= 0, lines.join('\n'))

    // One progress line, the last thing printed, with the final count; the cursor below it.
    const bars = lines.filter((line) => line.includes('/s)  sent '))
    assert.equal(bars.length, 1, lines.join('\n'))
    const bar = lines.indexOf(bars[0] as string)
    assert.match(bars[0] as string, /^received 1\.0 MiB \(.*\) {2}sent 0 B \(.*\) {2}\d+ s$/)
    assert.ok(bar > ended, 'the progress line is below the log lines')
    assert.deepEqual(cursor, { x: 0, row: bar + 1 }, 'the shell prompt will start on a fresh line below the progress line')
    assert.ok(lines.slice(0, bar).every((line) => line.startsWith('shs: ')), 'every line above it is a whole log line')
  })

  it('connect: an error is printed whole, exactly as without a terminal', async () => {
    const server = await sandbox().keygen('server')
    // Port 1 on loopback: nothing listens there, so the dial is refused at once.
    const args = ['connect', '127.0.0.1:1', '--remote', server.id, '--keys', server.path, '--progress']
    const plain = await sandbox().run(args, '')
    const connect = onTerminal(args, sandbox().env)
    started.push(connect)
    assert.equal(await connect.exited, plain.code)
    assert.notEqual(plain.code, 0)

    const { lines, cursor } = await screenOf(connect.output())
    assert.deepEqual(lines.filter((line) => line !== ''), plain.stderr.trimEnd().split('\n'))
    assert.equal(cursor.x, 0)
  })
})

/** A terminal-like stream that records what is written, and a clock that moves only when told. */
function fakeTerminal (): { stream: NodeJS.WriteStream, written: () => string, clock: ProgressClock & { advance: (ms: number) => void } } {
  let text = ''
  const stream = { isTTY: true, columns: 100, write: (chunk: string) => { text += chunk; return true } } as unknown as NodeJS.WriteStream
  let now = 1_000_000
  let tick: (() => void) | undefined
  const clock = {
    now: () => now,
    every: (_ms: number, callback: () => void) => { tick = callback; return { stop: () => { tick = undefined } } },
    advance: (ms: number) => { now += ms; tick?.() }
  }
  return { stream, written: () => text, clock }
}

describe('shs CLI: the progress line on its own', () => {
  it('draws nothing until the stream starts, and counts time from then', () => {
    const { stream, written, clock } = fakeTerminal()
    const progress = createProgress(true, stream, clock)
    clock.advance(60_000)
    progress.print('shs: listening\n')
    assert.equal(written(), 'shs: listening\n')
    progress.connectionOpened()
    clock.advance(2_000)
    progress.stop()
    assert.match(written(), / {2}2 s\n$/)
  })

  it('prints a log line over a cleared line, then redraws the progress line under it', () => {
    const { stream, written, clock } = fakeTerminal()
    const progress = createProgress(true, stream, clock)
    progress.connectionOpened()
    progress.received(2048)
    const before = written().length
    progress.print('shs: something happened\n')
    const clear = '\r\u001b[K'
    assert.ok(written().slice(before).startsWith(`${clear}shs: something happened\n${clear}received `), JSON.stringify(written().slice(before)))
  })

  it('writes straight through, with no escape sequences, when not asked for', () => {
    const { stream, written } = fakeTerminal()
    const progress = createProgress(false, stream)
    progress.connectionOpened()
    progress.print('shs: hello\n')
    progress.stop()
    assert.equal(written(), 'shs: hello\n')
  })
})
