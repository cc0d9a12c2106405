/**
 * The one error a store call throws when its backend fails (a database or cache that is down, a
 * timeout, a dropped connection): the HTTP layer answers it with `503 temporarily_unavailable` and
 * Retry-After instead of a 500. The store's guard (`guardStore`) turns every backend error into it.
 */

/**
 * A store call failed. The message names the call and the backend's own message (for logs; it
 * never holds a connection URL or a stored value); `cause` is the original error.
 */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable'
  /** e.g. `sessions.get`. */
  readonly operation: string

  constructor(operation: string, cause: unknown) {
    super(`store call ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.operation = operation
  }
}
