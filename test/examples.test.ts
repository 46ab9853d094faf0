/**
 * The examples the docs point to are complete programs, run here as a reader would run them
 * (through the package name, from the built dist/), so they cannot rot; and the guide shows
 * the echo example exactly as it is in examples/.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

async function runExample (name: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [path.join('examples', name)], { cwd: root })
  return stdout.trim().split('\n')
}

describe('examples', function () {
  this.timeout(20_000)

  it('echo.ts: a client connects over TCP and reads its message back', async () => {
    assert.deepEqual(await runExample('echo.ts'), ['echoed: hello'])
  })

  it('echo.ts is the program docs/LIBRARY.md shows, character for character', async () => {
    const [program, guide] = await Promise.all([
      readFile(path.join(root, 'examples', 'echo.ts'), 'utf8'),
      readFile(path.join(root, 'docs', 'LIBRARY.md'), 'utf8')
    ])
    assert.ok(guide.includes('```ts runnable\n' + program + '```\n'))
  })

  it('own-transport.ts: the handshake and the connection machine on a pipe of the example\'s own, goodbye both ways', async () => {
    assert.deepEqual((await runExample('own-transport.ts')).sort(), [
      'client reads: hello, client',
      'client: the peer said goodbye',
      'server reads: hello, server',
      'server: the peer said goodbye'
    ])
  })

  it('own-transport.ts puts the machine on a transport in under 60 lines', async () => {
    const lines = (await readFile(path.join(root, 'examples', 'own-transport.ts'), 'utf8')).trimEnd().split('\n').length
    assert.ok(lines < 60, `${lines} lines`)
  })

  it('sans-io.ts: drives both handshakes by hand, then opens the sealed message in 7-byte pieces', async () => {
    assert.deepEqual(await runExample('sans-io.ts'), [
      'client sends clientHello (64 bytes)',
      'server sends serverHello (64 bytes)',
      'client sends clientAuth (112 bytes)',
      'server sends serverAccept (80 bytes)',
      'handshake complete: each side knows the other\'s key: true',
      'client seals 21 bytes of text into 89 bytes on the wire (header, body, goodbye)',
      'server opens: "hello from the client"'
    ])
  })
})
