/** The transfer the CLI's rekey tests make across a rekey, whatever the transport. */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { type ShsProcess, type ShsResult, sha256 } from './helpers.ts'

const MIB = 1024 * 1024

/**
 * `connect` (started with `--rekey-after-bytes 1M`) and `listen`: 2 MiB to the server, across the
 * client's first rekey after bytes, then 1 MiB back; both exit 0 and every byte arrives unchanged.
 */
export async function exchangeAcrossRekey (connect: ShsProcess, listen: ShsProcess): Promise<void> {
  const toServer = randomBytes(2 * MIB)
  const toClient = randomBytes(MIB)
  // The client asks for fresh keys once 1 MiB is out, in the middle of these 2 MiB. The server
  // has read all of them (so the request too, and answered it) once they are on its stdout.
  connect.child.stdin?.write(toServer)
  await listen.waitForStdout(toServer.byteLength)
  // The answer went out before these bytes: once the client printed them it has switched, and
  // its switch went out before its goodbye (stdin is still open), so both sides count the rekey.
  listen.child.stdin?.end(toClient)
  await connect.waitForStdout(toClient.byteLength)
  connect.child.stdin?.end()
  assert.equal(await connect.exited, 0, connect.stderr)
  assert.equal(await listen.exited, 0, listen.stderr)
  assert.equal(sha256(listen.stdout), sha256(toServer))
  assert.equal(sha256(connect.stdout), sha256(toClient))
}

/**
 * `connect --rekey prefer` against `listen --rekey off` (stdin 'plain'; the client sent 'also
 * plain'): the second connection carried both ways, and both ends said why.
 */
export async function assertPlainFallback (connected: ShsResult, listen: ShsProcess): Promise<void> {
  assert.equal(connected.code, 0, connected.stderr)
  assert.equal(await listen.exited, 0, listen.stderr)
  assert.equal(connected.stdout.toString(), 'plain')
  assert.equal(listen.stdout.toString(), 'also plain')
  assert.match(connected.stderr, /plain SHS1, one pair of keys for the whole session \(the server does not offer the rekey extension\)/)
  assert.match(listen.stderr, /#1 from \S+ failed the handshake: .*it asked for the rekey extension, which --rekey off turns away/)
}
