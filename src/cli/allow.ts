/**
 * `--allow FILE`, like ssh's authorized_keys: one id per line, optionally followed by a comment,
 * `#` comment lines and blank lines ignored. Re-read for every connection (as sshd does), so
 * adding or removing someone needs no restart.
 */
import { readFile } from 'node:fs/promises'
import { CliError } from './errors/cli-error.ts'
import { EXIT } from './exit-codes.ts'
import { formatId, parseId } from './identity.ts'

export class AllowList {
  readonly path: string

  private constructor (path: string) {
    this.path = path
  }

  /** Reads the file once up front, so a typo stops the server at startup rather than per client. */
  static async load (path: string): Promise<{ list: AllowList, count: number }> {
    const ids = await readAllowFile(path)
    return { list: new AllowList(path), count: ids.size }
  }

  /** Throws a `CliError` if the file became unreadable or malformed: the caller refuses and logs it. */
  async allows (publicKey: Uint8Array): Promise<boolean> {
    const ids = await readAllowFile(this.path)
    return ids.has(formatId(publicKey))
  }
}

async function readAllowFile (path: string): Promise<Set<string>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CliError(EXIT.KEYS, `cannot read the --allow file ${path} (${code ?? String(err)}): check the path`, { cause: err })
  }
  const ids = new Set<string>()
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const [id = ''] = line.split(/\s+/)
    try {
      ids.add(formatId(parseId(id, 'id')))
    } catch (err) {
      if (!(err instanceof CliError)) throw err
      throw new CliError(EXIT.KEYS, `${path} line ${index + 1} is not an id: expected @<base64>.ed25519 ` +
        'optionally followed by a comment', { cause: err })
    }
  })
  return ids
}
