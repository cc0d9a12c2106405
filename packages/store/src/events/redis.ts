/**
 * The event bus over Redis pub/sub, for deployments whose short-lived data is in Redis: one
 * connection publishes, and a dedicated one listens (a connection that subscribes can run no other
 * command). Both reconnect on their own after an outage; events published meanwhile are lost, which
 * the caches' backstops cover (see events.ts).
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { EventBus } from '@careid/ports'
import { createFanout } from './events.ts'

/** Where the bus meets the other nodes. */
export interface RedisEventBusOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. Never appears in an error. */
  url: string
  /** The pub/sub channel (default `careid:events`); deployments sharing one Redis each use their own. */
  channel?: string | undefined
  /** How long connecting may take before opening fails; default 5000. */
  connectTimeoutMs?: number | undefined
  /** How long a publish waits for Redis before it fails; default 2000. */
  commandTimeoutMs?: number | undefined
}

const defaults = { channel: 'careid:events', connectTimeoutMs: 5000, commandTimeoutMs: 2000 }

/** Connects within `timeoutMs` or rejects (ioredis' own connectTimeout covers only the TCP handshake). */
async function connect(client: Redis, timeoutMs: number): Promise<void> {
  let lastError: Error | undefined
  const remember = (error: Error) => {
    lastError = error
  }
  client.on('error', remember)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis was not ready within ${timeoutMs} ms`)), timeoutMs)
      }),
    ])
  } catch (error) {
    const detail = lastError === undefined ? '' : ` (${lastError.message})`
    throw new Error(`cannot open the Redis event bus: ${(error as Error).message}${detail}`, { cause: lastError ?? error })
  } finally {
    clearTimeout(timer)
    client.off('error', remember)
  }
}

/** Opens both connections and subscribes; rejects if Redis is not reachable within the connect timeout. */
export async function openRedisEventBus(options: RedisEventBusOptions): Promise<EventBus> {
  const channel = options.channel ?? defaults.channel
  const connectTimeoutMs = options.connectTimeoutMs ?? defaults.connectTimeoutMs
  const common = {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    // Calls fail at once while Redis is away instead of queueing behind the caller's back.
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
  }
  const publisher = new Redis(options.url, { ...common, commandTimeout: options.commandTimeoutMs ?? defaults.commandTimeoutMs })
  // Resubscribed by hand on every (re)connection below: ioredis' own resubscription leaves its
  // promise unhandled, and a connection that drops again at that moment would end the process.
  const subscriber = new Redis(options.url, { ...common, autoResubscribe: false })
  const fanout = createFanout(randomUUID())
  let closed = false

  // Failures show as rejected publishes and, for listening, as events missed until the reconnect;
  // without listeners ioredis would log every failed reconnect.
  publisher.on('error', () => {})
  subscriber.on('error', () => {})
  subscriber.on('message', (from: string, message: string) => {
    if (from === channel) fanout.receive(message)
  })
  subscriber.on('ready', () => {
    if (!closed) subscriber.subscribe(channel).catch(() => undefined)
  })

  try {
    await Promise.all([connect(publisher, connectTimeoutMs), connect(subscriber, connectTimeoutMs)])
    await subscriber.subscribe(channel)
  } catch (error) {
    closed = true
    publisher.disconnect()
    subscriber.disconnect()
    throw error
  }

  return {
    async publish(event) {
      fanout.deliver(event)
      await publisher.publish(channel, fanout.encode(event))
    },
    subscribe: (handler) => fanout.subscribe(handler),
    async close() {
      if (closed) return
      closed = true
      fanout.clear()
      // QUIT lets replies already on their way arrive; if Redis is gone, just drop the sockets.
      await Promise.all([publisher.quit().catch(() => publisher.disconnect()), subscriber.quit().catch(() => subscriber.disconnect())])
    },
  }
}
