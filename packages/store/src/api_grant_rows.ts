/**
 * The rows both SQL adapters read for the API Platform's grants and tokens, their column lists, and
 * the converter that turns a token joined with its grant into a contract record (as sql_rows.ts does
 * for the other records).
 */
import type { ApiGrantPattern, ApiGrantRecord, ApiGrantUser, ApiTokenGrant, ApiTokenRecord } from '@careid/ports'
import type { ColumnDecoder, ColumnTypes } from './sql_rows.ts'

/**
 * A grant's columns, in the order the adapters insert them. `grant_user` holds the user as JSON
 * (`user` is a reserved word in PostgreSQL); `sid` repeats the user's sid so that a CIS2 session's
 * end finds its grants through an index.
 */
export const apiGrantColumns =
  'grant_id, api_key, pattern, scope, grant_user, sid, cis2_access_token_sealed, authenticated_at, refresh_until, created_at, expires_at, revoked_at'

/** A token's columns, in the order the adapters insert them. */
export const apiTokenColumns = 'token_hash, grant_id, kind, refresh_count, created_at, expires_at, used_at'

/** A token and its grant in one row: the columns the two tables share are the token's under other names. */
export const apiTokenGrantColumns =
  't.token_hash, t.grant_id, t.kind, t.refresh_count, t.created_at AS token_created_at, t.expires_at AS token_expires_at, t.used_at, ' +
  'g.api_key, g.pattern, g.scope, g.grant_user, g.cis2_access_token_sealed, g.authenticated_at, g.refresh_until, g.created_at, g.expires_at, g.revoked_at'

export interface ApiTokenGrantRow<C extends ColumnTypes> {
  token_hash: string
  grant_id: string
  kind: string
  refresh_count: number
  token_created_at: C['int']
  token_expires_at: C['int']
  used_at: C['int'] | null
  api_key: string
  pattern: string
  scope: string
  grant_user: C['json'] | null
  cis2_access_token_sealed: string | null
  authenticated_at: C['int']
  refresh_until: C['int']
  created_at: C['int']
  expires_at: C['int']
  revoked_at: C['int'] | null
}

/** A grant's values in `apiGrantColumns` order, with the user as JSON text and absent fields as NULL. */
export function apiGrantValues(grant: ApiGrantRecord): (string | number | null)[] {
  return [
    grant.grant_id,
    grant.api_key,
    grant.pattern,
    grant.scope,
    grant.user === undefined ? null : JSON.stringify(grant.user),
    grant.user?.sid ?? null,
    grant.cis2_access_token_sealed ?? null,
    grant.authenticated_at,
    grant.refresh_until,
    grant.created_at,
    grant.expires_at,
    grant.revoked_at ?? null,
  ]
}

/** A token's values in `apiTokenColumns` order. */
export function apiTokenValues(token: ApiTokenRecord): (string | number | null)[] {
  return [token.token_hash, token.grant_id, token.kind, token.refresh_count, token.created_at, token.expires_at, token.used_at ?? null]
}

/** Rejects tokens that are not all of `grantId`, before anything is written. */
export function checkTokensOf(grantId: string, tokens: readonly ApiTokenRecord[]): void {
  if (tokens.some((token) => token.grant_id !== grantId)) throw new RangeError('every token must be of the grant it is stored with')
}

/** The latest expiry among `tokens` (0 for none): a grant must outlive its last token. */
export function lastExpiry(tokens: readonly ApiTokenRecord[]): number {
  return Math.max(0, ...tokens.map((token) => token.expires_at))
}

export function apiTokenGrantReader<C extends ColumnTypes>({ int, optionalInt, json }: ColumnDecoder<C>) {
  return (row: ApiTokenGrantRow<C>): ApiTokenGrant => {
    const token: ApiTokenRecord = {
      token_hash: row.token_hash,
      grant_id: row.grant_id,
      kind: row.kind as ApiTokenRecord['kind'],
      refresh_count: row.refresh_count,
      created_at: int(row.token_created_at),
      expires_at: int(row.token_expires_at),
    }
    const usedAt = optionalInt(row.used_at)
    if (usedAt !== null) token.used_at = usedAt
    const grant: ApiGrantRecord = {
      grant_id: row.grant_id,
      api_key: row.api_key,
      pattern: row.pattern as ApiGrantPattern,
      scope: row.scope,
      authenticated_at: int(row.authenticated_at),
      refresh_until: int(row.refresh_until),
      created_at: int(row.created_at),
      expires_at: int(row.expires_at),
    }
    if (row.grant_user !== null) grant.user = json<ApiGrantUser>(row.grant_user)
    if (row.cis2_access_token_sealed !== null) grant.cis2_access_token_sealed = row.cis2_access_token_sealed
    const revokedAt = optionalInt(row.revoked_at)
    if (revokedAt !== null) grant.revoked_at = revokedAt
    return { token, grant }
  }
}
