/**
 * The card registry: issued smartcards, their status and their passcode counter.
 */
import { CARD_PASSCODE_ATTEMPTS, type CardAuthorityRecord, type CardStore } from '@careid/ports'
import { cardColumns, type CardRow } from '../sql_rows.ts'
import { int8, postgresRows, type Postgres, type PostgresColumns } from './database.ts'

const { toCard } = postgresRows

/** Cards, keyed by certificate serial. */
export function postgresCardStore({ query }: Postgres): CardStore {
  return {
    async put(card) {
      await query(
        `INSERT INTO cards (${cardColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (serial) DO UPDATE SET
          uid = EXCLUDED.uid, kind = EXCLUDED.kind, certificate = EXCLUDED.certificate, not_before = EXCLUDED.not_before,
          not_after = EXCLUDED.not_after, created_at = EXCLUDED.created_at, status = EXCLUDED.status,
          revoked_at = EXCLUDED.revoked_at, failed_attempts = EXCLUDED.failed_attempts, locked_at = EXCLUDED.locked_at,
          unlock_secrets_sealed = EXCLUDED.unlock_secrets_sealed, authentication_key = EXCLUDED.authentication_key`,
        [
          card.serial,
          card.uid,
          card.kind,
          card.certificate,
          card.not_before,
          card.not_after,
          card.created_at,
          card.status,
          card.revoked_at ?? null,
          card.failed_attempts,
          card.locked_at ?? null,
          card.unlock_secrets_sealed ?? null,
          card.authentication_key ?? null,
        ],
      )
    },
    async get(serial) {
      const { rows } = await query<CardRow<PostgresColumns>>(`SELECT ${cardColumns} FROM cards WHERE serial = $1`, [serial])
      return rows[0] === undefined ? undefined : toCard(rows[0])
    },
    async listByPerson(uid) {
      const { rows } = await query<CardRow<PostgresColumns>>(`SELECT ${cardColumns} FROM cards WHERE uid = $1 ORDER BY created_at, serial`, [uid])
      return rows.map(toCard)
    },
    async list() {
      const { rows } = await query<CardRow<PostgresColumns>>(`SELECT ${cardColumns} FROM cards ORDER BY created_at, serial`)
      return rows.map(toCard)
    },
    async beginPasscodeAttempt(serial, now) {
      // One statement: a concurrent attempt waits for the row lock and then re-checks the WHERE
      // against the committed row, so no two attempts count from the same value. The third attempt
      // is still begun (cis2.md 4: three WRONG passcodes lock the card, so the right one on the
      // third try must open it); only an attempt after three unproven ones locks it.
      const { rows } = await query<CardRow<PostgresColumns>>(
        `UPDATE cards SET failed_attempts = failed_attempts + 1
        WHERE serial = $1 AND status = 'active' AND locked_at IS NULL AND failed_attempts < ${CARD_PASSCODE_ATTEMPTS}
        RETURNING ${cardColumns}`,
        [serial],
      )
      if (rows[0] !== undefined) {
        const card = toCard(rows[0])
        return { outcome: 'begun', attemptsLeft: CARD_PASSCODE_ATTEMPTS - card.failed_attempts, card }
      }
      await query(
        `UPDATE cards SET locked_at = $2::bigint
        WHERE serial = $1 AND status = 'active' AND locked_at IS NULL AND failed_attempts >= ${CARD_PASSCODE_ATTEMPTS}`,
        [serial, now],
      )
      const { rows: status } = await query<{ status: string }>('SELECT status FROM cards WHERE serial = $1', [serial])
      if (status[0] === undefined) return { outcome: 'unknown' }
      return status[0].status === 'revoked' ? { outcome: 'revoked' } : { outcome: 'locked' }
    },
    async passcodeWrong(serial, now) {
      // One UPDATE that keeps the first locked_at: under concurrent callers, one that waited on the
      // row lock re-checks the row as the other left it and reads back its lock. (A fallback read in
      // the same statement would see the row from before that commit, and answer "not locked".)
      const { rows } = await query<{ locked_at: string }>(
        `UPDATE cards SET locked_at = coalesce(locked_at, $2::bigint)
        WHERE serial = $1 AND status = 'active' AND failed_attempts >= ${CARD_PASSCODE_ATTEMPTS}
        RETURNING locked_at`,
        [serial, now],
      )
      return rows.length > 0
    },
    async passcodeProven(serial) {
      const { rowCount } = await query(
        `UPDATE cards SET failed_attempts = 0 WHERE serial = $1 AND status = 'active' AND locked_at IS NULL`,
        [serial],
      )
      return (rowCount ?? 0) > 0
    },
    async lock(serial, now) {
      const { rowCount } = await query(
        `UPDATE cards SET failed_attempts = ${CARD_PASSCODE_ATTEMPTS}, locked_at = coalesce(locked_at, $2::bigint) WHERE serial = $1 AND status = 'active'`,
        [serial, now],
      )
      return (rowCount ?? 0) > 0
    },
    async unlock(serial) {
      const { rowCount } = await query(`UPDATE cards SET failed_attempts = 0, locked_at = NULL WHERE serial = $1 AND status = 'active'`, [serial])
      return (rowCount ?? 0) > 0
    },
    async revoke(serial, now) {
      const { rowCount } = await query(
        `UPDATE cards SET status = 'revoked', revoked_at = coalesce(revoked_at, $2::bigint) WHERE serial = $1`,
        [serial, now],
      )
      return (rowCount ?? 0) > 0
    },
    async getAuthority() {
      const { rows } = await query<AuthorityRow>('SELECT certificate, private_key_sealed, created_at FROM card_authority WHERE id = 1')
      return rows[0] === undefined ? undefined : toAuthority(rows[0])
    },
    async initAuthority(authority) {
      // The insert and the read are two statements: the read sees whichever insert committed first.
      await query(
        `INSERT INTO card_authority (id, certificate, private_key_sealed, created_at) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING`,
        [authority.certificate, authority.private_key_sealed, authority.created_at],
      )
      const { rows } = await query<AuthorityRow>('SELECT certificate, private_key_sealed, created_at FROM card_authority WHERE id = 1')
      if (rows[0] === undefined) throw new Error('the card authority was not stored')
      return toAuthority(rows[0])
    },
  }
}

interface AuthorityRow {
  certificate: string
  private_key_sealed: string
  created_at: string
}

function toAuthority(row: AuthorityRow): CardAuthorityRecord {
  return { certificate: row.certificate, private_key_sealed: row.private_key_sealed, created_at: int8(row.created_at) }
}
