/**
 * The API Platform's grants and tokens in PostgreSQL, shared by every node: a revocation on one is
 * seen by the next lookup on any other.
 */
import type { ApiGrantStore, ApiTokenRecord } from '@careid/ports'
import {
  apiGrantColumns,
  apiGrantValues,
  apiTokenColumns,
  apiTokenGrantColumns,
  apiTokenGrantReader,
  apiTokenValues,
  checkTokensOf,
  lastExpiry,
  type ApiTokenGrantRow,
} from '../api_grant_rows.ts'
import { postgresColumnDecoder, type Postgres, type PostgresColumns, type Query } from './database.ts'

const toTokenGrant = apiTokenGrantReader(postgresColumnDecoder)

/** Tokens as one array parameter per column, zipped by unnest: any number of them in one statement. */
const tokensFromArrays = `
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::bigint[], $6::bigint[], $7::bigint[])`

function tokenArrays(tokens: readonly ApiTokenRecord[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 7 }, () => [])
  for (const token of tokens) apiTokenValues(token).forEach((value, i) => columns[i]!.push(value))
  return columns
}

/**
 * The grant and its first tokens in one statement, so both are stored or neither is (the tokens'
 * foreign key is checked at the statement's end, when the grant is there).
 */
const issue = `
  WITH grant_row AS (
    INSERT INTO api_grants (${apiGrantColumns})
    VALUES ($8, $9, $10, $11, $12::jsonb, $13, $14, $15, $16, $17, $18, $19)
  )
  INSERT INTO api_tokens (${apiTokenColumns}) ${tokensFromArrays}`

/** One lookup by each primary key: the gateway asks on every API call. */
const findLive = `
  SELECT ${apiTokenGrantColumns}
  FROM api_tokens t JOIN api_grants g ON g.grant_id = t.grant_id
  WHERE t.token_hash = $1 AND t.kind = $2 AND t.expires_at > $3 AND t.used_at IS NULL AND g.revoked_at IS NULL`

/**
 * Marks the refresh token used, having first locked its grant unrevoked. Every caller that changes
 * a grant or its tokens locks the grant row first (rotate, revokeBySid), so concurrent rotations of
 * one grant's tokens queue there: none can hold a lock another needs while it waits (no deadlock),
 * the first marks the token used, and each later one re-checks the token after the first committed
 * and finds it used. A grant revoked meanwhile fails the lock's own re-check, and nothing changes.
 */
const markUsed = `
  WITH live_grant AS (
    SELECT grant_id FROM api_grants
    WHERE grant_id = (SELECT grant_id FROM api_tokens WHERE token_hash = $1) AND revoked_at IS NULL
    FOR NO KEY UPDATE
  )
  UPDATE api_tokens SET used_at = $2
  WHERE token_hash = $1 AND kind = 'refresh' AND used_at IS NULL AND expires_at > $2
    AND grant_id IN (SELECT grant_id FROM live_grant)
  RETURNING grant_id`

async function insertTokens(query: Query, tokens: readonly ApiTokenRecord[]): Promise<void> {
  if (tokens.length > 0) await query(`INSERT INTO api_tokens (${apiTokenColumns}) ${tokensFromArrays}`, tokenArrays(tokens))
}

export function postgresApiGrantStore({ query, transaction }: Postgres): ApiGrantStore {
  async function find(tokenHash: string, kind: ApiTokenRecord['kind'], now: number) {
    const { rows } = await query<ApiTokenGrantRow<PostgresColumns>>(findLive, [tokenHash, kind, now])
    return rows[0] === undefined ? undefined : toTokenGrant(rows[0])
  }

  return {
    async issue(grant, tokens) {
      checkTokensOf(grant.grant_id, tokens)
      await query(issue, [...tokenArrays(tokens), ...apiGrantValues(grant)])
    },
    async findAccess(tokenHash, now) {
      // An access token is never marked used, so `used_at IS NULL` holds for every one.
      return find(tokenHash, 'access', now)
    },
    async findRefresh(tokenHash, now) {
      return find(tokenHash, 'refresh', now)
    },
    async rotate(tokenHash, successors, now) {
      return transaction(async (tx) => {
        const { rows } = await tx<{ grant_id: string }>(markUsed, [tokenHash, now])
        const used = rows[0]
        if (used === undefined) return false
        // Thrown inside the transaction: it rolls back, and the token is left unused.
        checkTokensOf(used.grant_id, successors)
        await insertTokens(tx, successors)
        // The grant is locked by this transaction already (markUsed).
        await tx('UPDATE api_grants SET expires_at = GREATEST(expires_at, $2) WHERE grant_id = $1', [used.grant_id, lastExpiry(successors)])
        return true
      })
    },
    async revokeBySid(sid, now) {
      // Locked in grant_id order, the order any other revokeBySid of this sid takes too.
      const { rowCount } = await query(
        `UPDATE api_grants SET revoked_at = $1
        WHERE grant_id IN (SELECT grant_id FROM api_grants WHERE sid = $2 ORDER BY grant_id FOR NO KEY UPDATE) AND revoked_at IS NULL`,
        [now, sid],
      )
      return rowCount ?? 0
    },
    async removeExpired(now) {
      return transaction(async (tx) => {
        // The foreign key cascades this to the grants' tokens; rowCount counts only grants.
        const { rowCount } = await tx('DELETE FROM api_grants WHERE expires_at <= $1', [now])
        await tx('DELETE FROM api_tokens WHERE expires_at <= $1', [now])
        return rowCount ?? 0
      })
    },
  }
}
