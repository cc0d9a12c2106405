/**
 * One `Store` from two backends: the durable records from the SQL store, the short-lived ones
 * (codes, sessions, sign-in journeys, single-use markers, rate counters) from Redis.
 */
import type { Store } from '@careid/ports'
import type { RedisShortLivedStore } from './redis/redis_store.ts'

/**
 * Serves codes, sessions, interactions, the replay cache and the rate counters from `shortLived`
 * and everything else (the patients and the API Platform's grants too) from `durable` (whose own
 * short-lived tables then stay unused). Ready only when both are; closing closes both.
 */
export function combineStores(durable: Store, shortLived: RedisShortLivedStore): Store {
  return {
    clients: durable.clients,
    keys: durable.keys,
    people: durable.people,
    credentials: durable.credentials,
    cards: durable.cards,
    grants: durable.grants,
    refreshTokens: durable.refreshTokens,
    outbox: durable.outbox,
    audit: durable.audit,
    apps: durable.apps,
    codes: shortLived.codes,
    sessions: shortLived.sessions,
    interactions: shortLived.interactions,
    replay: shortLived.replay,
    rates: shortLived.rates,
    patients: durable.patients,
    apiGrants: durable.apiGrants,
    // A unit of work covers the durable records only: Redis takes no part in it, so what a unit
    // changes there (ending a session) is ordered by the caller, after the commit.
    transaction: (work) => durable.transaction(work),
    async ping() {
      const [durableUp, shortLivedUp] = await Promise.all([durable.ping(), shortLived.ping()])
      return durableUp && shortLivedUp
    },
    async close() {
      // Both are closed even if one fails, so neither is left holding connections.
      const results = await Promise.allSettled([durable.close(), shortLived.close()])
      for (const result of results) if (result.status === 'rejected') throw result.reason
    },
  }
}
