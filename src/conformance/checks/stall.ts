/**
 * Stalls and hang-ups at each step of the handshake. A peer must drop a stalled handshake within
 * its own timeout (we report how long it took, and fail it past the stall limit), and a hang-up
 * at any step must neither kill a server nor leave a client hanging.
 */
import { performance } from 'node:perf_hooks'
import { type CheckDefinition, type ClientRoleContext, type ClientRun, type ServerRoleContext, fail, pass } from '../check.ts'
import { describeExit } from '../crash.ts'
import { CheckFailure } from '../errors.ts'
import { judgeClientFailure, readExactly } from '../play.ts'
import { CLIENT_AUTH_BYTES, HELLO_BYTES, HandshakeSeam, SERVER_ACCEPT_BYTES } from '../seam.ts'
import type { Verdict } from '../types.ts'
import { countBytes, formatMs, formatSeconds } from '../units.ts'
import type { RawConnection } from '../wire/connection.ts'

type Step = 'before-hello' | 'after-hello' | 'mid-auth'

const STEP_WORDS: Readonly<Record<Step, string>> = {
  'before-hello': 'before our hello',
  'after-hello': 'after the hellos',
  'mid-auth': 'halfway through our authentication message'
}

/** Server role: plays the client up to `step`; returns the connection. */
async function clientUpTo (context: ServerRoleContext, step: Step): Promise<RawConnection> {
  const connection = await context.open()
  if (step === 'before-hello') return connection
  const seam = HandshakeSeam.client(context.keys, context.networkKey, context.serverKey)
  connection.write(seam.hello())
  const hello = await readExactly(connection, HELLO_BYTES, 'the server hello (message 2)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the server hello (message 2) did not verify')
  if (step === 'mid-auth') connection.write(seam.clientAuth().subarray(0, CLIENT_AUTH_BYTES >> 1))
  return connection
}

/** Client role: plays the server up to `step` (reading what the client sends meanwhile). */
async function serverUpTo (context: ClientRoleContext, step: Step): Promise<ClientRun> {
  const run = await context.launch({ stdin: 'open' })
  const seam = HandshakeSeam.server(context.keys, context.networkKey)
  const hello = await readExactly(run.connection, HELLO_BYTES, 'the client hello (message 1)', context.replyTimeout)
  if (!seam.acceptHello(hello)) throw new CheckFailure('the client hello (message 1) did not verify')
  if (step === 'before-hello') return run
  run.connection.write(seam.hello())
  const auth = await readExactly(run.connection, CLIENT_AUTH_BYTES, 'the client authentication (message 3)', context.replyTimeout)
  if (!seam.acceptClientAuth(auth)) throw new CheckFailure('the client authentication (message 3) did not verify')
  if (step === 'mid-auth') run.connection.write(seam.serverAccept().subarray(0, SERVER_ACCEPT_BYTES >> 1))
  return run
}

function stall (step: Step): CheckDefinition {
  const where = STEP_WORDS[step]
  return {
    id: `hs.stall-${step}`,
    title: `the peer must drop a handshake that stalls ${where}, within the stall limit`,
    hostile: true,
    slow: true,
    server: async (context) => {
      const connection = await clientUpTo(context, step)
      try {
        // A server owes a stalled client nothing: any byte ends the wait.
        const outcome = await connection.waitForHangUp(context.stallLimit, 0)
        if (outcome.received > 0) return fail(`the server sent ${countBytes(outcome.received)} to a client that stalled ${where}, where SHS has it send nothing`)
        if (outcome.hungUp) return pass(`the server dropped a client that stalled ${where} after ${formatSeconds(outcome.ms)}`)
        return fail(`the server kept a client that stalled ${where} for more than ${formatSeconds(context.stallLimit)} (the stall limit): ` +
          'idle half-done handshakes can exhaust it')
      } finally {
        connection.close()
      }
    },
    client: async (context) => {
      const run = await serverUpTo(context, step)
      const started = performance.now()
      const exit = await run.process.waitForExit(context.stallLimit)
      if (exit === undefined) {
        return fail(`the client was still waiting for a server that stalled ${where} after ${formatSeconds(context.stallLimit)} (the stall limit)`)
      }
      const waited = formatSeconds(performance.now() - started)
      if (exit.code === 0) return fail(`the client gave up on a server that stalled ${where} after ${waited}, but exited with status 0`)
      return pass(`the client gave up on a server that stalled ${where} after ${waited} and ${describeExit(exit)}`)
    }
  }
}

function hangUp (step: Step): CheckDefinition {
  const where = STEP_WORDS[step]
  return {
    id: `hs.hangup-${step}`,
    title: `the peer must survive (server) or fail promptly (client) when the other side hangs up ${where}`,
    hostile: true,
    server: async (context): Promise<Verdict> => {
      const connection = await clientUpTo(context, step)
      connection.close()
      // What counts is the liveness probe that follows every check.
      return pass(`we hung up ${where}; the server stayed alive`)
    },
    client: async (context) => {
      const run = await serverUpTo(context, step)
      const started = performance.now()
      run.connection.close()
      const verdict = await judgeClientFailure(context, run, { sent: `a hang-up ${where}`, mayReply: true })
      if (verdict.status !== 'pass') return verdict
      return pass(`${verdict.reason}, ${formatMs(performance.now() - started)} after the hang-up`)
    }
  }
}

const STEPS: readonly Step[] = ['before-hello', 'after-hello', 'mid-auth']

export function stallChecks (): CheckDefinition[] {
  return [...STEPS.map(stall), ...STEPS.map(hangUp)]
}
