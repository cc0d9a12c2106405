/**
 * The PostgreSQL and Redis backends, loaded when a node first opens one: pg and ioredis are not
 * loaded at all by a node on the embedded store (or by code that only needs the store's types and
 * helpers), which keeps its resident memory down.
 */
import type { Store } from '@careid/ports'
import type { EventBus } from '@careid/ports'
import type { PostgresEventBusOptions } from './events/postgres.ts'
import type { RedisEventBusOptions } from './events/redis.ts'
import type { PostgresStoreOptions } from './postgres/database.ts'
import type { RedisShortLivedStore, RedisStoreOptions } from './redis/redis_store.ts'

export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  return (await import('./postgres/postgres_store.ts')).openPostgresStore(options)
}

export async function openRedisStore(options: RedisStoreOptions): Promise<RedisShortLivedStore> {
  return (await import('./redis/redis_store.ts')).openRedisStore(options)
}

export async function openPostgresEventBus(options: PostgresEventBusOptions): Promise<EventBus> {
  return (await import('./events/postgres.ts')).openPostgresEventBus(options)
}

export async function openRedisEventBus(options: RedisEventBusOptions): Promise<EventBus> {
  return (await import('./events/redis.ts')).openRedisEventBus(options)
}
