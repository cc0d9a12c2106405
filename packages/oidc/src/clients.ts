/**
 * Registered clients, read through a short-lived cache: the token and authorization endpoints look
 * a client up on every request, while changes (from `careid clients`, possibly another process or
 * node) must be seen within a second.
 */
import type { ClientRecord, ClientStore } from '@careid/ports'
import { webOriginsOf } from './web_origins.ts'

export interface ClientRegistry {
  get(clientId: string): Promise<ClientRecord | undefined>
  /** Drops cached entries (all, or one client) after a change. */
  invalidate(clientId?: string): void
}

export interface WebOriginIndex {
  /** Whether any registered client allows pages of `origin` (CORS preflights, which name no client). */
  hasWebOrigin(origin: string): Promise<boolean>
}

export function createClientRegistry(store: ClientStore, now: () => number, ttlMs = 1_000): ClientRegistry & WebOriginIndex {
  const cache = new Map<string, { at: number; client: ClientRecord | undefined }>()
  // Every client's origins in one set, read again at most once per TTL however many preflights come.
  let origins: { at: number; set: Set<string> } | undefined
  return {
    async get(clientId) {
      const hit = cache.get(clientId)
      const t = now()
      if (hit !== undefined && t - hit.at < ttlMs) return hit.client
      const client = await store.get(clientId)
      // Unknown ids are cached too, so a flood of bogus client_ids costs one lookup a second each;
      // the map is bounded so that flood cannot grow memory without limit.
      if (cache.size > 10_000) cache.clear()
      cache.set(clientId, { at: t, client })
      return client
    },
    async hasWebOrigin(origin) {
      const t = now()
      if (origins === undefined || t - origins.at >= ttlMs) origins = { at: t, set: new Set((await store.list()).flatMap(webOriginsOf)) }
      return origins.set.has(origin)
    },
    invalidate(clientId) {
      origins = undefined
      if (clientId === undefined) cache.clear()
      else cache.delete(clientId)
    },
  }
}

/** CIS2 client ids: twelve digits then `.apps.national` (cis2.md 1.4). */
export const clientIdPattern = /^\d{12}\.apps\.national$/
