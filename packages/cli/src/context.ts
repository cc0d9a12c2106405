/**
 * Opening Careid's data: the store (embedded SQLite in the data directory, or PostgreSQL, alone or
 * with Redis for the short-lived data), the event bus the nodes share, the key-encryption key and
 * secret box, and the signing keys. Shared by `careid start` and the admin commands, so both see
 * the same data.
 */
import { hkdfSync } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createKeyService, createSecretBox, type KeyService } from '@careid/oidc'
import { StoreUnavailable, type AeadSecretBox, type CareidEvent, type EventBus, type Store } from '@careid/ports'
import { combineStores, guardStore } from '@careid/store'
import { createLocalEventBus } from '@careid/store/events'
import { openPostgresEventBus, openPostgresStore } from '@careid/store/postgres'
import { openRedisEventBus, openRedisStore } from '@careid/store/redis'
import { keyEncryptionKeyFile, loadKeyEncryptionKey } from '@careid/store/key-encryption-key'
import { openSqliteStore } from '@careid/store/sqlite'
import type { Settings } from './settings.ts'

export interface CareidContext {
  settings: Settings
  /** Guarded: a backend that does not answer makes a call fail with `StoreUnavailable`. */
  store: Store
  secrets: AeadSecretBox
  keys: KeyService
  /** Changes every node must hear of: client registrations, key rotations, ended sessions. */
  events: EventBus
  /**
   * A secret derived from the key-encryption key for `label` (HKDF-SHA256, 256 bits, base64url):
   * every node given the same key derives the same secret, and none of it is stored.
   */
  deriveSecret(label: string): string
  close(): Promise<void>
}

/** Careid cannot open its data; the message says why and what to do (printed without a stack trace). */
export class StartupError extends Error {
  override name = 'StartupError'
}

/** A new key is published this long before it signs, beyond the 5 minutes relying parties may cache the JWKS. */
export const keyPublishLeadMs = 10 * 60_000
/** A retired key stays published until the longest-lived token it signed (1 h access tokens) has expired. */
export const keyRetainMs = 2 * 60 * 60_000

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * Where this deployment's Redis keys and pub/sub channel start: its own when it has a schema, so
 * deployments that share a PostgreSQL database in separate schemas can share one Redis too.
 */
function redisKeyPrefix(settings: Settings): string {
  return settings.databaseSchema === undefined ? 'careid:' : `careid:${settings.databaseSchema}:`
}

/** The store and event bus the settings name. Opening PostgreSQL applies pending migrations. */
async function openStorage(settings: Settings): Promise<{ store: Store; events: EventBus }> {
  if (settings.databaseUrl === undefined) {
    const store = await openSqliteStore({ path: join(settings.dataDir, 'careid.db') })
    return { store: guardStore(store), events: createLocalEventBus() }
  }
  const opened: { close(): Promise<void> }[] = []
  try {
    let durable: Store
    try {
      durable = await openPostgresStore({ url: settings.databaseUrl, poolSize: settings.dbPoolSize, schema: settings.databaseSchema })
    } catch (error) {
      // pg's messages name the host and user at most, never the password in the URL.
      throw new StartupError(`cannot open the PostgreSQL store: ${messageOf(error)}`, { cause: error })
    }
    opened.push(durable)
    if (settings.redisUrl === undefined) {
      const events = await openPostgresEventBus({ url: settings.databaseUrl, schema: settings.databaseSchema })
      return { store: guardStore(durable), events }
    }
    const prefix = redisKeyPrefix(settings)
    const shortLived = await openRedisStore({ url: settings.redisUrl, keyPrefix: prefix })
    opened.push(shortLived)
    const events = await openRedisEventBus({ url: settings.redisUrl, channel: `${prefix}events` })
    return { store: guardStore(combineStores(durable, shortLived)), events }
  } catch (error) {
    await Promise.allSettled(opened.map((part) => part.close()))
    // The adapters' and buses' own messages say what could not be opened.
    throw error instanceof StartupError ? error : new StartupError(messageOf(error), { cause: error })
  }
}

/** The signing keys, with one active; a node that cannot open them refuses to start, saying so. */
async function openKeys(settings: Settings, store: Store, secrets: AeadSecretBox): Promise<KeyService> {
  try {
    const keys = await createKeyService({ store: store.keys, secrets, now: Date.now, publishLeadMs: keyPublishLeadMs, retainAfterRetireMs: keyRetainMs })
    await keys.ensureActive()
    return keys
  } catch (error) {
    if (error instanceof StoreUnavailable) throw new StartupError(`cannot read the signing keys: ${error.message}`, { cause: error })
    const used = settings.keyEncryptionKey === undefined ? `the key file ${join(settings.dataDir, keyEncryptionKeyFile)}` : 'CAREID_KEY_ENCRYPTION_KEY'
    const advice =
      settings.databaseUrl === undefined
        ? 'Give it the key-encryption key the keys were sealed with.'
        : 'Every node that shares a database must be given the same CAREID_KEY_ENCRYPTION_KEY.'
    throw new StartupError(`this node cannot open the stored signing keys with its key-encryption key (${used}): ${messageOf(error)}. ${advice}`, { cause: error })
  }
}

export async function openContext(settings: Settings): Promise<CareidContext> {
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 })
  // Even with a shared database the key-encryption key comes from the environment or this data
  // directory: it never travels through the store it protects.
  let secrets: AeadSecretBox
  let deriveSecret: (label: string) => string
  try {
    const keyEncryptionKey = loadKeyEncryptionKey({ envValue: settings.keyEncryptionKey, dataDir: settings.dataDir })
    secrets = createSecretBox(keyEncryptionKey)
    deriveSecret = (label) => Buffer.from(hkdfSync('sha256', keyEncryptionKey, Buffer.alloc(0), `careid:${label}`, 32)).toString('base64url')
  } catch (error) {
    // The messages say what is wrong with the key, never the key itself.
    throw new StartupError(messageOf(error), { cause: error })
  }
  const { store, events } = await openStorage(settings)
  const close = async () => {
    // Both are closed even if one fails, so neither is left holding connections.
    const results = await Promise.allSettled([events.close(), store.close()])
    for (const result of results) if (result.status === 'rejected') throw result.reason
  }
  try {
    const keys = await openKeys(settings, store, secrets)
    return { settings, store, secrets, keys, events, deriveSecret, close }
  } catch (error) {
    await close().catch(() => undefined)
    throw error
  }
}

/**
 * Tells running nodes of a change an admin command made. They notice it anyway (clients within a
 * second, as their cache expires; keys at their next periodic reload, within seconds), so a failure
 * only delays: it is noted on stderr (stdout may be JSON) and the command still succeeds.
 */
export async function announce(ctx: CareidContext, event: CareidEvent): Promise<void> {
  try {
    await ctx.events.publish(event)
  } catch {
    process.stderr.write('careid: note: running nodes could not be told of the change just now; they will pick it up within seconds.\n')
  }
}
