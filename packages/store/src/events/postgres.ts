/**
 * The event bus over PostgreSQL LISTEN/NOTIFY, for deployments without Redis. A dedicated
 * connection (outside the store's pool, where a LISTEN would be lost when the connection is handed
 * to another caller) listens and publishes. When it drops (a restart, a failover, a network cut) a
 * new one is opened, with back-off, until it succeeds; events published meanwhile are lost, which
 * the caches' backstops cover (see events.ts).
 */
import { createHash, randomUUID } from 'node:crypto'
import pg from 'pg'
import { connectionConfig, resolveOptions } from '../postgres/database.ts'
import type { EventBus } from '@careid/ports'
import { createFanout } from './events.ts'

/** Where the bus meets the other nodes. */
export interface PostgresEventBusOptions {
  /** A `postgres://` connection URL. It may hold a password, so it never appears in an error. */
  url: string
  /**
   * The schema of the deployment (as given to the store). Notifications are per database, so the
   * channel is named after the schema: deployments in different schemas of one database do not
   * hear each other.
   */
  schema?: string | undefined
  /** How long connecting may take (default 5000). */
  connectionTimeoutMs?: number | undefined
}

/** Reconnection back-off: from the first delay, doubling, up to the cap. */
const RECONNECT_FIRST_MS = 100
const RECONNECT_MAX_MS = 2000

/**
 * The channel for a schema. A channel name is an identifier of at most 63 bytes, and a schema name
 * may already be that long, so a schema is represented by a digest of its name.
 */
export function eventChannel(schema: string | undefined): string {
  return schema === undefined ? 'careid_events' : `careid_events_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`
}

/** Opens the listening connection; rejects if the database cannot be reached within the timeout. */
export async function openPostgresEventBus(options: PostgresEventBusOptions): Promise<EventBus> {
  const resolved = resolveOptions({ url: options.url, schema: options.schema, connectionTimeoutMs: options.connectionTimeoutMs })
  const channel = eventChannel(resolved.schema)
  const fanout = createFanout(randomUUID())
  let client: pg.Client | undefined
  let closed = false
  let retry: NodeJS.Timeout | undefined
  let delay = RECONNECT_FIRST_MS

  async function listen(): Promise<pg.Client> {
    // The store's connection settings (timeouts, keepalives); no schema, as channels are not in one.
    const fresh = new pg.Client(connectionConfig({ ...resolved, schema: undefined }))
    fresh.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) fanout.receive(message.payload)
    })
    // A dropped connection emits 'error' and then 'end'; unhandled, 'error' would end the process.
    fresh.on('error', () => {})
    try {
      await fresh.connect()
      await fresh.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    } catch (error) {
      await fresh.end().catch(() => undefined)
      throw error
    }
    fresh.on('end', () => {
      if (client === fresh) client = undefined
      reconnect()
    })
    return fresh
  }

  function reconnect(): void {
    if (closed || retry !== undefined) return
    retry = setTimeout(async () => {
      try {
        const fresh = await listen()
        retry = undefined
        if (closed) await fresh.end().catch(() => undefined)
        else {
          client = fresh
          delay = RECONNECT_FIRST_MS
        }
      } catch {
        retry = undefined
        delay = Math.min(delay * 2, RECONNECT_MAX_MS)
        reconnect()
      }
    }, delay)
    // A node waiting to reconnect must still be able to exit.
    retry.unref()
  }

  try {
    client = await listen()
  } catch (error) {
    throw new Error(`cannot open the PostgreSQL event bus: ${(error as Error).message}`, { cause: error })
  }

  return {
    async publish(event) {
      fanout.deliver(event)
      if (client === undefined) throw new Error('the PostgreSQL event bus is reconnecting')
      await client.query('SELECT pg_notify($1, $2)', [channel, fanout.encode(event)])
    },
    subscribe: (handler) => fanout.subscribe(handler),
    async close() {
      if (closed) return
      closed = true
      clearTimeout(retry)
      fanout.clear()
      const last = client
      client = undefined
      await last?.end().catch(() => undefined)
    },
  }
}
