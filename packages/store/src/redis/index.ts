/** The Redis store for short-lived data and event bus (`@careid/store/redis`); ioredis loads on first use. */
export type { RedisStoreOptions, RedisShortLivedStore } from './redis_store.ts'
export type { RedisEventBusOptions } from '../events/redis.ts'
export { openRedisEventBus, openRedisStore } from '../scaled_out.ts'
