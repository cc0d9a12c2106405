/**
 * What authorization produces: codes, the grants they create and the refresh tokens issued from
 * those grants. Single use here is a conditional UPDATE ... RETURNING, one statement and so one
 * transaction, so exactly one caller (in this process or another) sees the row change.
 */
import type { CodeStore, GrantStore, RefreshTokenRecord, RefreshTokenStore } from '@careid/ports'
import { codeColumns, grantColumns, tokenColumns, type CodeRow, type GrantRow, type RefreshTokenRow } from '../sql_rows.ts'
import { sqliteRows, type Sqlite, type SqliteColumns } from './database.ts'

const { toCode, toGrant, toRefreshToken } = sqliteRows

/** Grants; revoking or expiring one takes its refresh tokens with it. */
export function sqliteGrantStore(sqlite: Sqlite): GrantStore {
  const { db } = sqlite
  // An upsert, not INSERT OR REPLACE: a replace deletes the row first, and the delete would cascade
  // to the grant's refresh tokens. coalesce() keeps an earlier revocation: revocation is final.
  const upsert = db.prepare(`
    INSERT INTO grants (${grantColumns})
    VALUES (@grant_id, @client_id, @sub, @sid, @scope, @sign_in, @created_at, @expires_at, @revoked_at)
    ON CONFLICT (grant_id) DO UPDATE SET
      client_id = excluded.client_id, sub = excluded.sub, sid = excluded.sid, scope = excluded.scope,
      sign_in = excluded.sign_in, created_at = excluded.created_at, expires_at = excluded.expires_at,
      revoked_at = coalesce(grants.revoked_at, excluded.revoked_at)`)
  const select = db.prepare(`SELECT ${grantColumns} FROM grants WHERE grant_id = ?`)
  const markRevoked = db.prepare('UPDATE grants SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL')
  const deleteTokens = db.prepare('DELETE FROM refresh_tokens WHERE grant_id = ?')
  const markSessionRevoked = db.prepare('UPDATE grants SET revoked_at = ? WHERE sid = ? AND revoked_at IS NULL')
  const deleteSessionTokens = db.prepare('DELETE FROM refresh_tokens WHERE grant_id IN (SELECT grant_id FROM grants WHERE sid = ?)')
  // The foreign key cascades this to the grants' refresh tokens; `changes` counts only grants.
  const removeExpired = db.prepare('DELETE FROM grants WHERE expires_at <= ?')

  return {
    async put(grant) {
      upsert.run({
        grant_id: grant.grant_id,
        client_id: grant.client_id,
        sub: grant.sub,
        sid: grant.sid,
        scope: grant.scope,
        sign_in: grant.sign_in === undefined ? null : JSON.stringify(grant.sign_in),
        created_at: grant.created_at,
        expires_at: grant.expires_at,
        revoked_at: grant.revoked_at ?? null,
      })
    },
    async get(grantId) {
      const row = select.get(grantId) as GrantRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toGrant(row)
    },
    async revoke(grantId, now) {
      sqlite.write(() => {
        markRevoked.run(now, grantId)
        deleteTokens.run(grantId)
      })
    },
    async revokeBySid(sid, now) {
      return sqlite.write(() => {
        const revoked = markSessionRevoked.run(now, sid).changes
        deleteSessionTokens.run(sid)
        return revoked
      })
    },
    async removeExpired(now) {
      return removeExpired.run(now).changes
    },
  }
}

/** Rotating refresh tokens; a token is usable only while its grant is unrevoked and unexpired. */
export function sqliteRefreshTokenStore(sqlite: Sqlite): RefreshTokenStore {
  const { db } = sqlite
  const insert = db.prepare(`
    INSERT INTO refresh_tokens (${tokenColumns})
    VALUES (@token_hash, @grant_id, @client_id, @created_at, @expires_at, @rotated_at)`)
  const select = db.prepare(`SELECT ${tokenColumns} FROM refresh_tokens WHERE token_hash = ?`)
  const markRotated = db.prepare(`
    UPDATE refresh_tokens SET rotated_at = @now
    WHERE token_hash = @token_hash AND rotated_at IS NULL AND expires_at > @now
      AND EXISTS (SELECT 1 FROM grants g
        WHERE g.grant_id = refresh_tokens.grant_id AND g.revoked_at IS NULL AND g.expires_at > @now)
    RETURNING ${tokenColumns}`)
  const selectWithGrant = db.prepare(`
    SELECT ${tokenColumns.split(', ').map((column) => `t.${column}`).join(', ')},
      g.revoked_at IS NULL AND g.expires_at > @now AS grant_live
    FROM refresh_tokens t LEFT JOIN grants g ON g.grant_id = t.grant_id
    WHERE t.token_hash = @token_hash`)

  function insertToken(token: RefreshTokenRecord): void {
    insert.run({
      token_hash: token.token_hash,
      grant_id: token.grant_id,
      client_id: token.client_id,
      created_at: token.created_at,
      expires_at: token.expires_at,
      rotated_at: token.rotated_at ?? null,
    })
  }

  return {
    async put(token) {
      insertToken(token)
    },
    async get(tokenHash) {
      const row = select.get(tokenHash) as RefreshTokenRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toRefreshToken(row)
    },
    async rotate(tokenHash, successor, now) {
      return sqlite.write(() => {
        const params = { token_hash: tokenHash, now }
        const rotated = markRotated.all(params) as RefreshTokenRow<SqliteColumns>[]
        if (rotated[0] !== undefined) {
          // Inside the transaction: if the successor cannot be stored, the rotation is undone too.
          insertToken(successor)
          return { kind: 'rotated', token: toRefreshToken(rotated[0]) }
        }
        const row = selectWithGrant.get(params) as (RefreshTokenRow<SqliteColumns> & { grant_live: number | null }) | undefined
        if (row === undefined || row.rotated_at === null || row.grant_live !== 1 || row.expires_at <= now) {
          return { kind: 'absent' }
        }
        return { kind: 'reused', token: toRefreshToken(row) }
      })
    },
  }
}

/** Authorization codes, kept past expiry (retainMs) so a late replay is still seen as reuse. */
export function sqliteCodeStore(sqlite: Sqlite): CodeStore {
  const { db } = sqlite
  const insert = db.prepare(`
    INSERT INTO codes (${codeColumns}) VALUES (@code_hash, @client_id, @redirect_uri, @grant_id, @expires_at, @payload)`)
  const markRedeemed = db.prepare(`
    UPDATE codes SET redeemed_at = @now
    WHERE code_hash = @code_hash AND redeemed_at IS NULL AND expires_at > @now
    RETURNING ${codeColumns}, redeemed_at`)
  const select = db.prepare(`SELECT ${codeColumns}, redeemed_at FROM codes WHERE code_hash = ?`)
  const removeExpired = db.prepare('DELETE FROM codes WHERE expires_at <= ?')

  return {
    async save(code) {
      insert.run({
        code_hash: code.code_hash,
        client_id: code.client_id,
        redirect_uri: code.redirect_uri,
        grant_id: code.grant_id,
        expires_at: code.expires_at,
        payload: JSON.stringify(code.payload),
      })
    },
    async redeem(codeHash, now) {
      // One statement is its own transaction: exactly one caller's UPDATE changes the row, with no
      // BEGIN/COMMIT round of its own. A caller whose UPDATE changed nothing reads the row after it;
      // a code that was not redeemable then stays so, so the read answers as of that moment.
      // The code hash is the key: one row at most, and SQLite makes every change of an UPDATE ...
      // RETURNING in its first step, so `get` (one step) applies it as `all` would.
      const first = markRedeemed.get({ code_hash: codeHash, now }) as CodeRow<SqliteColumns> | undefined
      if (first !== undefined) return { kind: 'first', code: toCode(first) }
      const row = select.get(codeHash) as CodeRow<SqliteColumns> | undefined
      // Redeemed before: reuse, even past expiry. Never redeemed and now expired: absent.
      if (row === undefined || row.redeemed_at === null) return { kind: 'absent' }
      return { kind: 'reused', code: toCode(row) }
    },
    async removeExpired(now, retainMs) {
      return removeExpired.run(now - retainMs).changes
    },
  }
}
