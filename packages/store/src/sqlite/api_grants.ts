/**
 * The API Platform's grants and tokens in the embedded store. Every call is one synchronous write
 * transaction (or one statement), so no other call interleaves with it: of concurrent rotations of
 * one refresh token, the first marks it used and the rest find it used.
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
import { sqliteColumnDecoder, type Sqlite, type SqliteColumns } from './database.ts'

const toTokenGrant = apiTokenGrantReader(sqliteColumnDecoder)

const placeholders = (columns: string) => columns.split(', ').map(() => '?').join(', ')

export function sqliteApiGrantStore(sqlite: Sqlite): ApiGrantStore {
  const { db } = sqlite
  const insertGrant = db.prepare(`INSERT INTO api_grants (${apiGrantColumns}) VALUES (${placeholders(apiGrantColumns)})`)
  const insertToken = db.prepare(`INSERT INTO api_tokens (${apiTokenColumns}) VALUES (${placeholders(apiTokenColumns)})`)
  // One lookup by each primary key: the gateway asks on every API call.
  const findLive = db.prepare(`
    SELECT ${apiTokenGrantColumns}
    FROM api_tokens t JOIN api_grants g ON g.grant_id = t.grant_id
    WHERE t.token_hash = @token_hash AND t.kind = @kind AND t.expires_at > @now AND t.used_at IS NULL AND g.revoked_at IS NULL`)
  const markUsed = db.prepare(`
    UPDATE api_tokens SET used_at = @now
    WHERE token_hash = @token_hash AND kind = 'refresh' AND used_at IS NULL AND expires_at > @now
      AND EXISTS (SELECT 1 FROM api_grants g WHERE g.grant_id = api_tokens.grant_id AND g.revoked_at IS NULL)
    RETURNING grant_id`)
  const raiseExpiry = db.prepare('UPDATE api_grants SET expires_at = max(expires_at, ?) WHERE grant_id = ?')
  const revokeBySid = db.prepare('UPDATE api_grants SET revoked_at = ? WHERE sid = ? AND revoked_at IS NULL')
  // The foreign key cascades the first to the grants' tokens; `changes` counts only grants.
  const removeExpiredGrants = db.prepare('DELETE FROM api_grants WHERE expires_at <= ?')
  const removeExpiredTokens = db.prepare('DELETE FROM api_tokens WHERE expires_at <= ?')

  function insertTokens(tokens: readonly ApiTokenRecord[]): void {
    for (const token of tokens) insertToken.run(...apiTokenValues(token))
  }

  function find(tokenHash: string, kind: ApiTokenRecord['kind'], now: number) {
    const row = findLive.get({ token_hash: tokenHash, kind, now }) as ApiTokenGrantRow<SqliteColumns> | undefined
    return row === undefined ? undefined : toTokenGrant(row)
  }

  return {
    async issue(grant, tokens) {
      checkTokensOf(grant.grant_id, tokens)
      sqlite.write(() => {
        insertGrant.run(...apiGrantValues(grant))
        insertTokens(tokens)
      })
    },
    async findAccess(tokenHash, now) {
      // An access token is never marked used, so `used_at IS NULL` holds for every one.
      return find(tokenHash, 'access', now)
    },
    async findRefresh(tokenHash, now) {
      return find(tokenHash, 'refresh', now)
    },
    async rotate(tokenHash, successors, now) {
      return sqlite.write(() => {
        const used = markUsed.get({ token_hash: tokenHash, now }) as { grant_id: string } | undefined
        if (used === undefined) return false
        // Thrown inside the transaction: the token is left unused.
        checkTokensOf(used.grant_id, successors)
        insertTokens(successors)
        raiseExpiry.run(lastExpiry(successors), used.grant_id)
        return true
      })
    },
    async revokeBySid(sid, now) {
      return revokeBySid.run(now, sid).changes
    },
    async removeExpired(now) {
      return sqlite.write(() => {
        const grants = removeExpiredGrants.run(now).changes
        removeExpiredTokens.run(now)
        return grants
      })
    },
  }
}
