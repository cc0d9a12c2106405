/**
 * Brings a database to one given schema version, as a Careid of that version would have left it:
 * the migrations up to it applied and recorded in the ledger. The ledger statements repeat the
 * adapters' own on purpose: the stores only ever migrate to the latest version, and these tests need
 * every earlier one.
 */
import Database from 'libsql'
import pg from 'pg'
import { postgresMigrations } from '../../src/postgres/migrations.ts'
import { sqliteMigrations } from '../../src/sqlite/migrations.ts'

/** Migrates the SQLite file at `path` to `version` (0: the ledger only). */
export function migrateSqliteTo(path: string, version: number): void {
  const db = new Database(path)
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)')
    const applied = (db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as { version: number | null }).version ?? 0
    for (const migration of sqliteMigrations) {
      if (migration.version <= applied || migration.version > version) continue
      db.exec('BEGIN')
      db.exec(migration.sql)
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(migration.version, 0)
      db.exec('COMMIT')
    }
  } finally {
    db.close()
  }
}

/** Migrates `schema` (created if missing) of the PostgreSQL database at `url` to `version`. */
export async function migratePostgresTo(url: string, schema: string, version: number): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`)
    await client.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`)
    await client.query('CREATE TABLE IF NOT EXISTS careid_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)')
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM careid_schema_migrations')
    const applied = rows[0]?.version ?? 0
    for (const migration of postgresMigrations) {
      if (migration.version <= applied || migration.version > version) continue
      await client.query('BEGIN')
      await client.query(migration.sql)
      await client.query('INSERT INTO careid_schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)', [migration.version, migration.name])
      await client.query('COMMIT')
    }
  } finally {
    await client.end()
  }
}

/** A row as written by a Careid of some version: column name to value. */
export type Row = Record<string, unknown>

/** Writes rows straight into a SQLite file (JSON columns as text, flags as 0/1, as the adapter does). */
export function insertSqlite(path: string, table: string, row: Row): void {
  const db = new Database(path)
  try {
    const columns = Object.keys(row)
    const values = Object.values(row).map((value) =>
      typeof value === 'boolean' ? (value ? 1 : 0) : value !== null && typeof value === 'object' ? JSON.stringify(value) : value,
    )
    db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...values)
  } finally {
    db.close()
  }
}

/** Writes rows straight into a PostgreSQL schema (JSON columns as JSON text, as the adapter does). */
export async function insertPostgres(url: string, schema: string, table: string, row: Row): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const columns = Object.keys(row)
    const values = Object.values(row).map((value) => (value !== null && typeof value === 'object' ? JSON.stringify(value) : value))
    await client.query(
      `INSERT INTO ${pg.escapeIdentifier(schema)}.${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      values,
    )
  } finally {
    await client.end()
  }
}
