/**
 * The Redis adapter for short-lived data (codes, sessions, sign-in journeys, single-use markers,
 * rate counters), for deployments that run several Careid nodes against one Redis. The durable data
 * stays in SQL; `combineStores` joins the two into one `Store`.
 *
 * What the contract needs from the Redis server: `maxmemory-policy noeviction` (every key has a TTL,
 * so any volatile-* or allkeys-* policy could drop a record the contract still promises), and
 * persistence (AOF) if a restart must not forget redeemed codes, live sessions or used `jti`s.
 */
import { Redis } from 'ioredis'
import type { Store } from '@careid/ports'
import { redisCodeStore } from './codes.ts'
import { createContext } from './scripts.ts'
import { redisInteractionStore, redisRateCounter, redisReplayCache, redisSessionStore } from './sessions.ts'

/** Where the short-lived data lives and how long to wait for it. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string
  /**
   * Starts every key (default `careid:`), so several deployments can share one Redis. For Redis
   * Cluster use a hash tag such as `{careid}:`: the scripts touch a record and its indexes together,
   * which Cluster allows only within one slot.
   */
  keyPrefix?: string | undefined
  /** How long opening (or reconnecting) may take before it fails; default 5000. */
  connectTimeoutMs?: number | undefined
  /** How long any one call waits for Redis before it fails; default 2000. */
  commandTimeoutMs?: number | undefined
  /**
   * How long past its contract end a record's Redis TTL lets it live (default one day). TTLs only
   * collect what the sweeps never reached, so this must exceed the code retention (`codeRetainMs`)
   * and any pause of the session sweep that must still end sessions with their logout notifications.
   */
  gcMarginMs?: number | undefined
}

/** The short-lived half of a `Store`, kept in Redis. */
export interface RedisShortLivedStore {
  readonly codes: Store['codes']
  readonly sessions: Store['sessions']
  readonly interactions: Store['interactions']
  readonly replay: Store['replay']
  readonly rates: Store['rates']
  /** Redis answers; false once closed. */
  ping(): Promise<boolean>
  /** Idempotent. */
  close(): Promise<void>
}

const defaults = { keyPrefix: 'careid:', connectTimeoutMs: 5000, commandTimeoutMs: 2000, gcMarginMs: 24 * 60 * 60 * 1000 }

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`)
  return value
}

/**
 * Connects to Redis at `options.url` and resolves once it is ready; rejects if it is not within
 * `connectTimeoutMs`.
 *
 * Calls never wait for a lost connection to come back: while Redis is unreachable they fail at once
 * (there is no offline queue), a call in flight when the connection drops fails rather than being
 * resent on reconnection, and any call fails after `commandTimeoutMs`. So no failed call is replayed
 * later behind its caller's back (though one that timed out after reaching Redis may, as with any
 * networked store, have taken effect). The client reconnects in the background.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisShortLivedStore> {
  const prefix = options.keyPrefix ?? defaults.keyPrefix
  const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? defaults.connectTimeoutMs)
  const commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs ?? defaults.commandTimeoutMs)
  const gcMarginMs = positive('gcMarginMs', options.gcMarginMs ?? defaults.gcMarginMs)

  const client = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    // Fails the calls in flight as soon as the connection drops, instead of at their timeout.
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  })
  // Without a listener ioredis logs every failed reconnect; callers see failures as rejected calls,
  // and /ready through ping().
  let lastError: Error | undefined
  client.on('error', (error: Error) => {
    lastError = error
  })

  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        // connectTimeout covers the TCP connection only; a server that accepts and never answers
        // would otherwise stall the handshake through several command timeouts.
        timer = setTimeout(() => reject(new Error(`Redis was not ready within ${connectTimeoutMs} ms`)), connectTimeoutMs)
      }),
    ])
  } catch (error) {
    client.disconnect()
    const detail = lastError === undefined ? '' : ` (${lastError.message})`
    throw new Error(`cannot open the Redis store: ${(error as Error).message}${detail}`, { cause: lastError ?? error })
  } finally {
    clearTimeout(timer)
  }

  const context = createContext(client, prefix, gcMarginMs)
  let closed = false

  return {
    codes: redisCodeStore(context),
    sessions: redisSessionStore(context),
    interactions: redisInteractionStore(context),
    replay: redisReplayCache(context),
    rates: redisRateCounter(context),
    async ping() {
      if (closed) return false
      try {
        return (await client.ping()) === 'PONG'
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      // QUIT lets replies already on their way arrive; if Redis is gone, just drop the socket.
      await client.quit().catch(() => client.disconnect())
    },
  }
}
