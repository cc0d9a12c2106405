/**
 * A guard around a `Store`: whatever a backend call throws (a database or cache that is down, a
 * timeout, a dropped connection) reaches the caller as one error type, `StoreUnavailable`, so the
 * HTTP layer can answer `503 temporarily_unavailable` with Retry-After instead of a 500, and the
 * node serves again as soon as the backend answers (the adapters reconnect on their own).
 */
import { StoreUnavailable, type Store, type UnitOfWork } from '@careid/ports'
import { unitParts } from './unit_of_work.ts'

/**
 * The parts of a `Store` that hold the records, each an object of async methods: the durable ones a
 * unit of work reaches, the short-lived ones, the patients and the API Platform's grants.
 */
const parts = [
  ...unitParts,
  'codes',
  'sessions',
  'interactions',
  'replay',
  'rates',
  'patients',
  'apiGrants',
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

/**
 * A unit of work, guarded: its parts as every call is, and the unit itself for what fails around
 * the work (BEGIN, COMMIT, a connection that cannot be had). What the work throws itself (a
 * refusal of the caller's own) reaches the caller unchanged.
 */
function guardTransaction(store: Store): Store['transaction'] {
  return async (work) => {
    const thrownByWork = new WeakSet<object>()
    try {
      return await store.transaction(async (tx) => {
        const guardedTx = Object.fromEntries(unitParts.map((name) => [name, guardPart(name, tx[name])])) as unknown as UnitOfWork
        try {
          return await work(guardedTx)
        } catch (error) {
          if (typeof error === 'object' && error !== null) thrownByWork.add(error)
          throw error
        }
      })
    } catch (error) {
      if (error instanceof StoreUnavailable || (typeof error === 'object' && error !== null && thrownByWork.has(error))) throw error
      throw new StoreUnavailable('transaction', error)
    }
  }
}

/** `store` with every method guarded; `transaction`, `ping` and `close` included. */
export function guardStore(store: Store): Store {
  const guardedParts = Object.fromEntries(parts.map((name) => [name, guardPart(name, store[name])])) as Pick<Store, (typeof parts)[number]>
  return {
    ...guardedParts,
    transaction: guardTransaction(store),
    ping: guarded('ping', store.ping, store) as Store['ping'],
    close: guarded('close', store.close, store) as Store['close'],
  }
}
