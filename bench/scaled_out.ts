/**
 * The shared services a scaled-out Careid runs on in the benchmark: the machine's PostgreSQL and
 * Redis, reached before anything starts (so a run without them says so and goes on with the
 * embedded store), a fresh schema and Redis key prefix of the run's own, and their removal at the
 * end. The URLs come from BENCH_DATABASE_URL and BENCH_REDIS_URL, else the local defaults.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'

const reachTimeoutMs = 3_000

export interface SharedServices {
  databaseUrl: string
  redisUrl: string
  /** `careid_bench_<random>`: created by the first node's migration, dropped by `remove`. */
  schema: string
  /** What every node is given, as `CAREID_KEY_ENCRYPTION_KEY` would be. */
  keyEncryptionKey: string
  /** Drops the schema and deletes the run's Redis keys (`careid:<schema>:…`). */
  remove(): Promise<void>
}

/** Connects and asks one thing; throws (pg's message names no password) if PostgreSQL does not answer. */
async function reachPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: reachTimeoutMs, query_timeout: reachTimeoutMs })
  try {
    await client.connect()
    await client.query('SELECT 1')
  } finally {
    await client.end().catch(() => undefined)
  }
}

function redisClient(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: reachTimeoutMs, commandTimeout: reachTimeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  return client
}

async function reachRedis(url: string): Promise<void> {
  const client = redisClient(url)
  try {
    await client.connect()
    await client.ping()
  } finally {
    client.disconnect()
  }
}

/** The services, or why they cannot be used (each unreachable one named). */
export async function openSharedServices(): Promise<SharedServices | { unavailable: string }> {
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
  const [postgres, redis] = await Promise.allSettled([reachPostgres(databaseUrl), reachRedis(redisUrl)])
  const problems = [
    ...(postgres.status === 'rejected' ? [`PostgreSQL unreachable (${(postgres.reason as Error).message})`] : []),
    ...(redis.status === 'rejected' ? [`Redis unreachable (${(redis.reason as Error).message})`] : []),
  ]
  if (problems.length > 0) return { unavailable: problems.join('; ') }
  const schema = `careid_bench_${randomBytes(6).toString('hex')}`
  return {
    databaseUrl,
    redisUrl,
    schema,
    keyEncryptionKey: randomBytes(32).toString('base64'),
    async remove() {
      const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: reachTimeoutMs })
      try {
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`)
      } finally {
        await client.end().catch(() => undefined)
      }
      const redis = redisClient(redisUrl)
      try {
        await redis.connect()
        // The schema name is letters, digits and underscores: nothing in it is a glob pattern.
        let cursor = '0'
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `careid:${schema}:*`, 'COUNT', 1000)
          if (keys.length > 0) await redis.unlink(...keys)
          cursor = next
        } while (cursor !== '0')
      } finally {
        redis.disconnect()
      }
    },
  }
}
