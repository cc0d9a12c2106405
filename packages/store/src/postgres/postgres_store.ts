/**
 * The scaled-out store: every contract interface over one PostgreSQL database, shared by any number
 * of Careid nodes.
 */
import type { Store, UnitOfWork } from '@careid/ports'
import { runWork } from '../unit_of_work.ts'
import { postgresApiGrantStore } from './api_grants.ts'
import { postgresApplicationStore } from './apps.ts'
import { postgresCardStore } from './cards.ts'
import { openPool, resolveOptions, type Postgres, type PostgresStoreOptions } from './database.ts'
import { postgresClientStore, postgresCredentialStore, postgresKeyStore, postgresPersonStore } from './directory.ts'
import { postgresCodeStore, postgresGrantStore, postgresRefreshTokenStore } from './grants.ts'
import { appliedPostgresVersion, latestPostgresSchemaVersion, migratePostgres } from './migrations.ts'
import { postgresAuditLog, postgresLogoutOutbox } from './outbox.ts'
import { postgresPatientStore } from './patients.ts'
import { postgresInteractionStore, postgresRateCounter, postgresReplayCache, postgresSessionStore } from './sessions.ts'

/**
 * Opens the PostgreSQL store, applying any pending migrations first (several nodes may start at
 * once: each migration is applied by exactly one). Rejects if the database cannot be reached within
 * the connection timeout, or was migrated by a newer Careid. Every call on the store fails, rather
 * than waits, once the database stops answering within the timeouts.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const resolved = resolveOptions(options)
  await migratePostgres(resolved.url, { schema: resolved.schema, connectionTimeoutMs: resolved.connectionTimeoutMs })
  const postgres = openPool(resolved)
  let closed = false

  const durable = (on: Postgres): UnitOfWork => ({
    clients: postgresClientStore(on),
    keys: postgresKeyStore(on),
    people: postgresPersonStore(on),
    credentials: postgresCredentialStore(on),
    cards: postgresCardStore(on),
    grants: postgresGrantStore(on),
    refreshTokens: postgresRefreshTokenStore(on),
    outbox: postgresLogoutOutbox(on),
    audit: postgresAuditLog(on),
    apps: postgresApplicationStore(on),
  })

  return {
    ...durable(postgres),
    codes: postgresCodeStore(postgres),
    sessions: postgresSessionStore(postgres),
    interactions: postgresInteractionStore(postgres),
    replay: postgresReplayCache(postgres),
    rates: postgresRateCounter(postgres),
    patients: postgresPatientStore(postgres),
    apiGrants: postgresApiGrantStore(postgres),
    // Read committed: other connections see none of the unit's writes before its COMMIT.
    transaction: (work) => postgres.unit((on) => runWork(durable(on), work)),
    async ping() {
      if (closed) return false
      try {
        return (await appliedPostgresVersion(postgres.query)) === latestPostgresSchemaVersion
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      await postgres.end()
    },
  }
}
