/**
 * The card registry: issued smartcards, their status and their passcode counter.
 */
import { CARD_PASSCODE_ATTEMPTS, type CardAuthorityRecord, type CardStore } from '@careid/ports'
import { cardColumns, type CardRow } from '../sql_rows.ts'
import { sqliteRows, type Sqlite, type SqliteColumns } from './database.ts'

const { toCard } = sqliteRows

/** Cards, keyed by certificate serial. */
export function sqliteCardStore(sqlite: Sqlite): CardStore {
  const { db } = sqlite
  const select = db.prepare(`SELECT ${cardColumns} FROM cards WHERE serial = ?`)
  const selectByPerson = db.prepare(`SELECT ${cardColumns} FROM cards WHERE uid = ? ORDER BY created_at, serial`)
  const selectAll = db.prepare(`SELECT ${cardColumns} FROM cards ORDER BY created_at, serial`)
  const upsert = db.prepare(`
    INSERT INTO cards (${cardColumns})
    VALUES (@serial, @uid, @kind, @certificate, @not_before, @not_after, @created_at, @status, @revoked_at,
      @failed_attempts, @locked_at, @unlock_secrets_sealed, @authentication_key)
    ON CONFLICT (serial) DO UPDATE SET
      uid = excluded.uid, kind = excluded.kind, certificate = excluded.certificate, not_before = excluded.not_before,
      not_after = excluded.not_after, created_at = excluded.created_at, status = excluded.status,
      revoked_at = excluded.revoked_at, failed_attempts = excluded.failed_attempts, locked_at = excluded.locked_at,
      unlock_secrets_sealed = excluded.unlock_secrets_sealed, authentication_key = excluded.authentication_key`)
  // One statement: the condition and the increment are one step, so concurrent attempts cannot
  // both see 2 and both count. The third attempt is still begun (cis2.md 4: three WRONG passcodes
  // lock the card, so the right one on the third try must open it); only an attempt after three
  // unproven ones finds the card locked, and records when.
  const begin = db.prepare(`
    UPDATE cards SET failed_attempts = failed_attempts + 1
    WHERE serial = @serial AND status = 'active' AND locked_at IS NULL AND failed_attempts < ${CARD_PASSCODE_ATTEMPTS}
    RETURNING ${cardColumns}`)
  const lock = db.prepare(`
    UPDATE cards SET locked_at = @now
    WHERE serial = @serial AND status = 'active' AND locked_at IS NULL AND failed_attempts >= ${CARD_PASSCODE_ATTEMPTS}`)
  const selectStatus = db.prepare('SELECT status FROM cards WHERE serial = ?')
  const selectLocked = db.prepare('SELECT locked_at FROM cards WHERE serial = ?')
  const lockByToken = db.prepare(`
    UPDATE cards SET failed_attempts = ${CARD_PASSCODE_ATTEMPTS}, locked_at = coalesce(locked_at, @now)
    WHERE serial = @serial AND status = 'active'`)
  const proven = db.prepare(`UPDATE cards SET failed_attempts = 0 WHERE serial = ? AND status = 'active' AND locked_at IS NULL`)
  const unlock = db.prepare(`UPDATE cards SET failed_attempts = 0, locked_at = NULL WHERE serial = ? AND status = 'active'`)
  const revoke = db.prepare(`UPDATE cards SET status = 'revoked', revoked_at = coalesce(revoked_at, ?) WHERE serial = ?`)
  const selectAuthority = db.prepare('SELECT certificate, private_key_sealed, created_at FROM card_authority WHERE id = 1')
  const insertAuthority = db.prepare(`
    INSERT INTO card_authority (id, certificate, private_key_sealed, created_at) VALUES (1, ?, ?, ?)
    ON CONFLICT (id) DO NOTHING`)

  return {
    async put(card) {
      upsert.run({
        serial: card.serial,
        uid: card.uid,
        kind: card.kind,
        certificate: card.certificate,
        not_before: card.not_before,
        not_after: card.not_after,
        created_at: card.created_at,
        status: card.status,
        revoked_at: card.revoked_at ?? null,
        failed_attempts: card.failed_attempts,
        locked_at: card.locked_at ?? null,
        unlock_secrets_sealed: card.unlock_secrets_sealed ?? null,
        authentication_key: card.authentication_key ?? null,
      })
    },
    async get(serial) {
      const row = select.get(serial) as CardRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toCard(row)
    },
    async listByPerson(uid) {
      return (selectByPerson.all(uid) as CardRow<SqliteColumns>[]).map(toCard)
    },
    async list() {
      return (selectAll.all() as CardRow<SqliteColumns>[]).map(toCard)
    },
    async beginPasscodeAttempt(serial, now) {
      return sqlite.write(() => {
        const row = begin.get({ serial, now }) as CardRow<SqliteColumns> | undefined
        if (row !== undefined) {
          const card = toCard(row)
          return { outcome: 'begun', attemptsLeft: CARD_PASSCODE_ATTEMPTS - card.failed_attempts, card }
        }
        lock.run({ serial, now })
        const status = selectStatus.get(serial) as { status: string } | undefined
        if (status === undefined) return { outcome: 'unknown' }
        return status.status === 'revoked' ? { outcome: 'revoked' } : { outcome: 'locked' }
      })
    },
    async passcodeWrong(serial, now) {
      return sqlite.write(() => {
        // The same statement an attempt past the limit runs: it locks only a card whose count is at the limit.
        lock.run({ serial, now })
        const row = selectLocked.get(serial) as { locked_at: number | null } | undefined
        return row !== undefined && row.locked_at !== null
      })
    },
    async passcodeProven(serial) {
      return proven.run(serial).changes > 0
    },
    async lock(serial, now) {
      return lockByToken.run({ serial, now }).changes > 0
    },
    async unlock(serial) {
      return unlock.run(serial).changes > 0
    },
    async revoke(serial, now) {
      return revoke.run(now, serial).changes > 0
    },
    async getAuthority() {
      const row = selectAuthority.get() as CardAuthorityRecord | undefined
      return row === undefined ? undefined : toAuthority(row)
    },
    async initAuthority(authority) {
      return sqlite.write(() => {
        insertAuthority.run(authority.certificate, authority.private_key_sealed, authority.created_at)
        return toAuthority(selectAuthority.get() as CardAuthorityRecord)
      })
    },
  }
}

/** Only the record's fields (libsql rows carry metadata of their own). */
function toAuthority(row: CardAuthorityRecord): CardAuthorityRecord {
  return { certificate: row.certificate, private_key_sealed: row.private_key_sealed, created_at: row.created_at }
}
