/**
 * API Platform applications, keyed by their API key.
 */
import type { ApplicationStore } from '@careid/ports'
import { applicationColumns, applicationReader, type ApplicationRow } from '../application_rows.ts'
import { sqliteColumnDecoder, type Sqlite, type SqliteColumns } from './database.ts'

const toApplication = applicationReader(sqliteColumnDecoder)

export function sqliteApplicationStore({ db }: Sqlite): ApplicationStore {
  const select = db.prepare(`SELECT ${applicationColumns} FROM apim_applications WHERE api_key = ?`)
  const selectAll = db.prepare(`SELECT ${applicationColumns} FROM apim_applications ORDER BY api_key`)
  // An upsert keeps the row in place (INSERT OR REPLACE would delete and re-insert it).
  const upsert = db.prepare(`
    INSERT INTO apim_applications (${applicationColumns})
    VALUES (@api_key, @name, @secret_hash, @callback_urls, @jwks_uri, @jwks, @subscriptions, @created_at)
    ON CONFLICT (api_key) DO UPDATE SET
      name = excluded.name, secret_hash = excluded.secret_hash, callback_urls = excluded.callback_urls,
      jwks_uri = excluded.jwks_uri, jwks = excluded.jwks, subscriptions = excluded.subscriptions,
      created_at = excluded.created_at`)
  const remove = db.prepare('DELETE FROM apim_applications WHERE api_key = ?')

  return {
    async get(apiKey) {
      const row = select.get(apiKey) as ApplicationRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toApplication(row)
    },
    async list() {
      return (selectAll.all() as ApplicationRow<SqliteColumns>[]).map(toApplication)
    },
    async put(application) {
      upsert.run({
        api_key: application.api_key,
        name: application.name,
        secret_hash: application.secret_hash,
        callback_urls: JSON.stringify(application.callback_urls),
        jwks_uri: application.jwks_uri ?? null,
        jwks: application.jwks === undefined ? null : JSON.stringify(application.jwks),
        subscriptions: JSON.stringify(application.subscriptions),
        created_at: application.created_at,
      })
    },
    async remove(apiKey) {
      return remove.run(apiKey).changes > 0
    },
  }
}
