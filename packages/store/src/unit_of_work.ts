/**
 * What every adapter's unit of work shares: which parts of the store a unit reaches, and the rule
 * that a call failing inside a unit spoils it, so that no adapter commits half of what the work
 * meant to write (PostgreSQL cannot go on after a failed statement; SQLite could, and must not).
 */
import type { UnitOfWork } from '@careid/ports'

/** The durable parts a unit of work reaches. */
export const unitParts = [
  'clients',
  'keys',
  'people',
  'credentials',
  'cards',
  'grants',
  'refreshTokens',
  'outbox',
  'audit',
  'apps',
] as const satisfies readonly (keyof UnitOfWork)[]

type Method = (...args: unknown[]) => Promise<unknown>

/**
 * Runs `work` over `parts` and returns its result, or throws: the error `work` threw, or else the
 * first error a call on `parts` threw, even if `work` caught it. The caller commits only when this
 * resolves.
 */
export async function runWork<T>(parts: UnitOfWork, work: (tx: UnitOfWork) => Promise<T>): Promise<T> {
  let spoiled: { error: unknown } | undefined
  const watch = <P extends object>(part: P): P => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(part)) {
      if (typeof value !== 'function') continue
      out[key] = async (...args: unknown[]) => {
        try {
          return await (value as Method).apply(part, args)
        } catch (error) {
          spoiled ??= { error }
          throw error
        }
      }
    }
    return out as P
  }
  const tx = Object.fromEntries(unitParts.map((name) => [name, watch(parts[name])])) as unknown as UnitOfWork
  const result = await work(tx)
  if (spoiled !== undefined) throw spoiled.error
  return result
}
