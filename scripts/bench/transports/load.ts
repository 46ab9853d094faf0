/** The transports by name, loaded when a section needs one (the reference's dependencies are heavy). */
import type { ImplName, Transport } from './types.ts'

export async function loadTransport (name: ImplName): Promise<Transport> {
  switch (name) {
    case 'ours': return (await import('./ours.ts')).ours
    case 'rekey': return (await import('./ours.ts')).oursRekeying
    case 'reference': return (await import('./reference.ts')).reference
    case 'tcp': return (await import('./tcp.ts')).tcp
  }
}
