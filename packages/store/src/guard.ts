/**
 * A guard around a `Store`: whatever a backend call throws (a database or cache that is down, a
 * timeout, a dropped connection) reaches the caller as one error type, `StoreUnavailable`, so the
 * HTTP layer can answer `503 temporarily_unavailable` with Retry-After instead of a 500, and the
 * node serves again as soon as the backend answers (the adapters reconnect on their own).
 */
import { StoreUnavailable, type Store } from '@careid/ports'

/** The parts of a `Store` that hold the records, each an object of async methods. */
const parts = [
  'clients',
  'keys',
  'people',
  'credentials',
  'cards',
  'grants',
  'refreshTokens',
  'outbox',
  'audit',
  'codes',
  'sessions',
  'interactions',
  'replay',
  'rates',
] as const satisfies readonly (keyof Store)[]

type Method = (...args: unknown[]) => Promise<unknown>

function guarded(operation: string, method: Method, self: object): Method {
  return async (...args) => {
    try {
      return await method.apply(self, args)
    } catch (error) {
      throw error instanceof StoreUnavailable ? error : new StoreUnavailable(operation, error)
    }
  }
}

function guardPart<T extends object>(name: string, part: T): T {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(part)) {
    out[key] = typeof value === 'function' ? guarded(`${name}.${key}`, value as Method, part) : value
  }
  return out as T
}

/** `store` with every method guarded; `ping` and `close` included. */
export function guardStore(store: Store): Store {
  const guardedParts = Object.fromEntries(parts.map((name) => [name, guardPart(name, store[name])])) as Pick<Store, (typeof parts)[number]>
  return {
    ...guardedParts,
    ping: guarded('ping', store.ping, store) as Store['ping'],
    close: guarded('close', store.close, store) as Store['close'],
  }
}
