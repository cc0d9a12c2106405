/**
 * API Platform applications, keyed by their API key.
 */
import type { ApplicationStore } from '@careid/ports'
import { applicationColumns, applicationReader, type ApplicationRow } from '../application_rows.ts'
import { json, postgresColumnDecoder, type Postgres, type PostgresColumns } from './database.ts'

const toApplication = applicationReader(postgresColumnDecoder)

export function postgresApplicationStore({ query }: Postgres): ApplicationStore {
  return {
    async get(apiKey) {
      const { rows } = await query<ApplicationRow<PostgresColumns>>(`SELECT ${applicationColumns} FROM apim_applications WHERE api_key = $1`, [apiKey])
      return rows[0] === undefined ? undefined : toApplication(rows[0])
    },
    async list() {
      const { rows } = await query<ApplicationRow<PostgresColumns>>(`SELECT ${applicationColumns} FROM apim_applications ORDER BY api_key`)
      return rows.map(toApplication)
    },
    async put(application) {
      await query(
        `INSERT INTO apim_applications (${applicationColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (api_key) DO UPDATE SET
          name = EXCLUDED.name, secret_hash = EXCLUDED.secret_hash, callback_urls = EXCLUDED.callback_urls,
          jwks_uri = EXCLUDED.jwks_uri, jwks = EXCLUDED.jwks, subscriptions = EXCLUDED.subscriptions,
          created_at = EXCLUDED.created_at`,
        [
          application.api_key,
          application.name,
          application.secret_hash,
          json(application.callback_urls),
          application.jwks_uri ?? null,
          application.jwks === undefined ? null : json(application.jwks),
          json(application.subscriptions),
          application.created_at,
        ],
      )
    },
    async remove(apiKey) {
      const { rowCount } = await query('DELETE FROM apim_applications WHERE api_key = $1', [apiKey])
      return (rowCount ?? 0) > 0
    },
  }
}
