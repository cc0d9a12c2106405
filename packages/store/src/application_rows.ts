/**
 * The row both SQL adapters read for an API Platform application, its column list, and the
 * converter that turns it into a contract record (as sql_rows.ts does for the other records).
 */
import type { ApplicationRecord, ProductSubscription } from '@careid/ports'
import type { ColumnDecoder, ColumnTypes } from './sql_rows.ts'

export interface ApplicationRow<C extends ColumnTypes> {
  api_key: string
  name: string
  secret_hash: string
  callback_urls: C['json']
  jwks_uri: string | null
  jwks: C['json'] | null
  subscriptions: C['json']
  created_at: C['int']
}

export const applicationColumns = 'api_key, name, secret_hash, callback_urls, jwks_uri, jwks, subscriptions, created_at'

export function applicationReader<C extends ColumnTypes>({ int, json }: ColumnDecoder<C>) {
  return (row: ApplicationRow<C>): ApplicationRecord => {
    const application: ApplicationRecord = {
      api_key: row.api_key,
      name: row.name,
      secret_hash: row.secret_hash,
      callback_urls: json<string[]>(row.callback_urls),
      subscriptions: json<ProductSubscription[]>(row.subscriptions),
      created_at: int(row.created_at),
    }
    if (row.jwks_uri !== null) application.jwks_uri = row.jwks_uri
    if (row.jwks !== null) application.jwks = json(row.jwks)
    return application
  }
}
