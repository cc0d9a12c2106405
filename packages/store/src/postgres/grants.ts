/**
 * What authorization produces: codes, the grants they create and the refresh tokens issued from
 * those grants. Single use here is a conditional UPDATE ... RETURNING: concurrent callers, on any
 * node, queue on the row lock, and each re-checks the condition against the row the one before it
 * committed, so exactly one sees the row change.
 */
import type { CodeStore, GrantStore, RefreshTokenStore } from '@careid/ports'
import { codeColumns, grantColumns, tokenColumns, type CodeRow, type GrantRow, type RefreshTokenRow } from '../sql_rows.ts'
import { int8, json, postgresRows, type Postgres, type PostgresColumns } from './database.ts'

const { toCode, toGrant, toRefreshToken } = postgresRows

/** Grants; revoking or expiring one takes its refresh tokens with it. */
export function postgresGrantStore({ query, transaction }: Postgres): GrantStore {
  return {
    async put(grant) {
      // coalesce() keeps an earlier revocation: revocation is final.
      await query(
        `INSERT INTO grants (${grantColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (grant_id) DO UPDATE SET
          client_id = EXCLUDED.client_id, sub = EXCLUDED.sub, sid = EXCLUDED.sid, scope = EXCLUDED.scope,
          sign_in = EXCLUDED.sign_in, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
          revoked_at = coalesce(grants.revoked_at, EXCLUDED.revoked_at)`,
        [
          grant.grant_id,
          grant.client_id,
          grant.sub,
          grant.sid,
          grant.scope,
          grant.sign_in === undefined ? null : json(grant.sign_in),
          grant.created_at,
          grant.expires_at,
          grant.revoked_at ?? null,
        ],
      )
    },
    async get(grantId) {
      const { rows } = await query<GrantRow<PostgresColumns>>(`SELECT ${grantColumns} FROM grants WHERE grant_id = $1`, [grantId])
      return rows[0] === undefined ? undefined : toGrant(rows[0])
    },
    async revoke(grantId, now) {
      await transaction(async (tx) => {
        // The UPDATE's row lock on the grant waits for any rotation in flight (rotate holds the
        // grant FOR SHARE until it commits); the DELETE, a later statement, then sees the successor
        // that rotation stored and removes it too. Once revoked, no rotation can start.
        await tx('UPDATE grants SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL', [now, grantId])
        await tx('DELETE FROM refresh_tokens WHERE grant_id = $1', [grantId])
      })
    },
    async revokeBySid(sid, now) {
      return transaction(async (tx) => {
        // As in revoke: the row locks wait for rotations in flight, whose successors the DELETE then
        // sees. Locked in grant_id order, the order any other revokeBySid of this sid takes too.
        const { rowCount } = await tx(
          `UPDATE grants SET revoked_at = $1
          WHERE grant_id IN (SELECT grant_id FROM grants WHERE sid = $2 ORDER BY grant_id FOR UPDATE) AND revoked_at IS NULL`,
          [now, sid],
        )
        await tx('DELETE FROM refresh_tokens WHERE grant_id IN (SELECT grant_id FROM grants WHERE sid = $1)', [sid])
        return rowCount ?? 0
      })
    },
    async removeExpired(now) {
      // The foreign key cascades this to the grants' refresh tokens; rowCount counts only grants.
      const { rowCount } = await query('DELETE FROM grants WHERE expires_at <= $1', [now])
      return rowCount ?? 0
    },
  }
}

/**
 * Marks the token rotated and stores its successor in one statement, so both happen or neither
 * does (a successor whose hash is taken fails the whole statement). The grant is locked FOR SHARE
 * before the token row: a concurrent revoke waits for this rotation to commit and then deletes the
 * successor as well, and grant then token is the order every writer takes, so none deadlock.
 */
const rotate = `
  WITH rotated AS (
    UPDATE refresh_tokens SET rotated_at = $2
    WHERE token_hash = $1 AND rotated_at IS NULL AND expires_at > $2
      AND EXISTS (SELECT 1 FROM grants g
        WHERE g.grant_id = refresh_tokens.grant_id AND g.revoked_at IS NULL AND g.expires_at > $2
        FOR SHARE)
    RETURNING ${tokenColumns}
  ), successor AS (
    INSERT INTO refresh_tokens (${tokenColumns})
    SELECT $3::text, $4::text, $5::text, $6::bigint, $7::bigint, $8::bigint FROM rotated
  )
  SELECT ${tokenColumns} FROM rotated`

/** Rotating refresh tokens; a token is usable only while its grant is unrevoked and unexpired. */
export function postgresRefreshTokenStore({ query }: Postgres): RefreshTokenStore {
  return {
    async put(token) {
      await query(`INSERT INTO refresh_tokens (${tokenColumns}) VALUES ($1, $2, $3, $4, $5, $6)`, [
        token.token_hash,
        token.grant_id,
        token.client_id,
        token.created_at,
        token.expires_at,
        token.rotated_at ?? null,
      ])
    },
    async get(tokenHash) {
      const { rows } = await query<RefreshTokenRow<PostgresColumns>>(`SELECT ${tokenColumns} FROM refresh_tokens WHERE token_hash = $1`, [tokenHash])
      return rows[0] === undefined ? undefined : toRefreshToken(rows[0])
    },
    async rotate(tokenHash, successor, now) {
      const { rows } = await query<RefreshTokenRow<PostgresColumns>>(rotate, [
        tokenHash,
        now,
        successor.token_hash,
        successor.grant_id,
        successor.client_id,
        successor.created_at,
        successor.expires_at,
        successor.rotated_at ?? null,
      ])
      if (rows[0] !== undefined) return { kind: 'rotated', token: toRefreshToken(rows[0]) }
      // A separate statement on purpose: its fresh snapshot sees the rotation that beat this one
      // (the statement above waited for it to commit), where the same statement would not.
      const found = await query<RefreshTokenRow<PostgresColumns> & { grant_live: boolean | null }>(
        `SELECT ${tokenColumns.split(', ').map((column) => `t.${column}`).join(', ')},
          g.revoked_at IS NULL AND g.expires_at > $2 AS grant_live
        FROM refresh_tokens t LEFT JOIN grants g ON g.grant_id = t.grant_id
        WHERE t.token_hash = $1`,
        [tokenHash, now],
      )
      const row = found.rows[0]
      if (row === undefined || row.rotated_at === null || row.grant_live !== true || int8(row.expires_at) <= now) {
        return { kind: 'absent' }
      }
      return { kind: 'reused', token: toRefreshToken(row) }
    },
  }
}

/** Authorization codes, kept past expiry (retainMs) so a late replay is still seen as reuse. */
export function postgresCodeStore({ query }: Postgres): CodeStore {
  return {
    async save(code) {
      await query(`INSERT INTO codes (${codeColumns}) VALUES ($1, $2, $3, $4, $5, $6)`, [
        code.code_hash,
        code.client_id,
        code.redirect_uri,
        code.grant_id,
        code.expires_at,
        json(code.payload),
      ])
    },
    async redeem(codeHash, now) {
      const first = await query<CodeRow<PostgresColumns>>(
        `UPDATE codes SET redeemed_at = $2
        WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $2
        RETURNING ${codeColumns}, redeemed_at`,
        [codeHash, now],
      )
      if (first.rows[0] !== undefined) return { kind: 'first', code: toCode(first.rows[0]) }
      // A second statement, so its snapshot includes the redemption that won the race.
      const { rows } = await query<CodeRow<PostgresColumns>>(`SELECT ${codeColumns}, redeemed_at FROM codes WHERE code_hash = $1`, [codeHash])
      const row = rows[0]
      // Redeemed before: reuse, even past expiry. Never redeemed and now expired: absent.
      if (row === undefined || row.redeemed_at === null) return { kind: 'absent' }
      return { kind: 'reused', code: toCode(row) }
    },
    async removeExpired(now, retainMs) {
      const { rowCount } = await query('DELETE FROM codes WHERE expires_at <= $1', [now - retainMs])
      return rowCount ?? 0
    },
  }
}
