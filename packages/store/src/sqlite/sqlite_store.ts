/**
 * The embedded store: every contract interface over one SQLite database through libsql.
 */
import type { Store, UnitOfWork } from '@careid/ports'
import { runWork } from '../unit_of_work.ts'
import { sqliteApiGrantStore } from './api_grants.ts'
import { sqliteApplicationStore } from './apps.ts'
import { sqliteCardStore } from './cards.ts'
import { openDatabase } from './database.ts'
import { sqliteClientStore, sqliteCredentialStore, sqliteKeyStore, sqlitePersonStore } from './directory.ts'
import { sqliteCodeStore, sqliteGrantStore, sqliteRefreshTokenStore } from './grants.ts'
import { appliedVersion, latestSchemaVersion, migrate } from './migrations.ts'
import { sqliteAuditLog, sqliteLogoutOutbox } from './outbox.ts'
import { sqlitePatientStore } from './patients.ts'
import { sqliteInteractionStore, sqliteRateCounter, sqliteReplayCache, sqliteSessionStore } from './sessions.ts'

/** Where the embedded store keeps its data. */
export interface SqliteStoreOptions {
  /** A database file (created if missing), or ':memory:' for a private store that ends with the process. */
  path: string
}

/**
 * Opens the SQLite store at `options.path`, applying any pending migrations first.
 * Rejects if the database was migrated by a newer Careid.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const sqlite = openDatabase(options.path)
  try {
    migrate(sqlite)
  } catch (error) {
    sqlite.db.close()
    throw error
  }
  let closed = false

  // While a unit of work is open, every other call waits for it to end: they share the one
  // connection, so a statement run in between would join the unit's transaction (seeing its
  // uncommitted writes, and committed or rolled back with it). Outside a unit a call goes straight
  // through: each is synchronous, so calls cannot interleave with one another.
  let openUnit: Promise<void> | undefined
  /** Runs `call` once no unit is open (checked in the same turn as the call starts). */
  async function afterUnit<T>(call: () => Promise<T>): Promise<T> {
    while (openUnit !== undefined) await openUnit
    return call()
  }
  function gated<P extends object>(part: P): P {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(part)) {
      const method = value as (...args: unknown[]) => Promise<unknown>
      out[key] = (...args: unknown[]) => (openUnit === undefined ? method.apply(part, args) : afterUnit(() => method.apply(part, args)))
    }
    return out as P
  }

  const durable: UnitOfWork = {
    clients: sqliteClientStore(sqlite),
    keys: sqliteKeyStore(sqlite),
    people: sqlitePersonStore(sqlite),
    credentials: sqliteCredentialStore(sqlite),
    cards: sqliteCardStore(sqlite),
    grants: sqliteGrantStore(sqlite),
    refreshTokens: sqliteRefreshTokenStore(sqlite),
    outbox: sqliteLogoutOutbox(sqlite),
    audit: sqliteAuditLog(sqlite),
    apps: sqliteApplicationStore(sqlite),
  }

  return {
    clients: gated(durable.clients),
    keys: gated(durable.keys),
    people: gated(durable.people),
    credentials: gated(durable.credentials),
    cards: gated(durable.cards),
    grants: gated(durable.grants),
    refreshTokens: gated(durable.refreshTokens),
    outbox: gated(durable.outbox),
    audit: gated(durable.audit),
    apps: gated(durable.apps),
    codes: gated(sqliteCodeStore(sqlite)),
    sessions: gated(sqliteSessionStore(sqlite)),
    interactions: gated(sqliteInteractionStore(sqlite)),
    replay: gated(sqliteReplayCache(sqlite)),
    rates: gated(sqliteRateCounter(sqlite)),
    patients: gated(sqlitePatientStore(sqlite)),
    apiGrants: gated(sqliteApiGrantStore(sqlite)),
    async transaction(work) {
      // One unit at a time, and none while another caller's statement runs (there is none: each
      // runs synchronously). The unit's own calls reach the ungated parts.
      while (openUnit !== undefined) await openUnit
      let ended!: () => void
      openUnit = new Promise((resolve) => (ended = resolve))
      try {
        return await sqlite.unit(() => runWork(durable, work))
      } finally {
        openUnit = undefined
        ended()
      }
    },
    async ping() {
      if (closed) return false
      try {
        return appliedVersion(sqlite) === latestSchemaVersion
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      sqlite.db.close()
    },
  }
}
