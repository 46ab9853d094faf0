/**
 * The child's half of the lab's IPC: a role (one program in one namespace) answers the test's
 * requests by name, one reply per request, and says "ready" once it has started. `stop` runs the
 * role's cleanup, replies, and ends the process.
 */
export interface Request {
  readonly id: number
  readonly op: string
  readonly args?: unknown
}

export type Reply = { readonly id: number, readonly result: unknown } | { readonly id: number, readonly error: string }

export type Handlers = Readonly<Record<string, (args: unknown) => Promise<unknown>>>

/** The config the test passed as the role's one argument (JSON). */
export function roleConfig<T> (): T {
  const text = process.argv[2]
  if (text === undefined) throw new Error('a lab role takes its config as one JSON argument; run it through test/lab/hosts.ts')
  return JSON.parse(text) as T
}

function send (message: Reply | { ready: unknown }, then: () => void = () => {}): void {
  if (process.send === undefined) throw new Error('a lab role must be started with an IPC channel (test/lab/hosts.ts does)')
  process.send(message, then)
}

/** Answers requests with `handlers` until `stop`; `ready` is sent to the test first. */
export function serve (ready: unknown, handlers: Handlers, stop: () => Promise<void>): void {
  let stopping: Promise<void> | undefined
  const stopOnce = async (): Promise<void> => { stopping ??= stop(); await stopping }
  process.on('message', (message: Request) => {
    const answer = async (): Promise<unknown> => {
      if (message.op === 'stop') return await stopOnce()
      const handler = handlers[message.op]
      if (handler === undefined) throw new Error(`this role has no operation "${message.op}" (it has ${Object.keys(handlers).join(', ')})`)
      return await handler(message.args)
    }
    // After its reply to stop, a role ends at once: libraries' leftover timers must not keep it.
    const then = message.op === 'stop' ? () => process.exit(0) : undefined
    answer().then(
      (result) => { send({ id: message.id, result: result ?? null }, then) },
      (err: unknown) => { send({ id: message.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }, then) }
    )
  })
  // The test went away (it failed or was killed): nothing here may outlive it.
  process.on('disconnect', () => {
    stopOnce().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`lab role: stopping failed: ${String(err)}\n`); process.exit(1) })
  })
  send({ ready })
}

/** `work`, or the error `late()` makes once `ms` have passed: the bound on anything the lab waits for. */
export async function deadline<T> (ms: number, work: Promise<T>, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(late()) }, ms)
  })
  try {
    return await Promise.race([work, limit])
  } finally {
    clearTimeout(timer)
  }
}

/** `deadline` with a message naming what was waited for. */
export async function within<T> (ms: number, what: string, work: Promise<T>): Promise<T> {
  return await deadline(ms, work, () => new Error(`${what}: nothing after ${ms} ms`))
}
