/**
 * The durable back-channel logout outbox and the audit log.
 */
import type { AuditLog, LogoutOutbox } from '@careid/ports'
import { auditColumns, byDueTime, notificationColumns, type AuditRow, type NotificationRow } from '../sql_rows.ts'
import { sqliteRows, type Sqlite, type SqliteColumns } from './database.ts'

const { toAuditEvent, toNotification } = sqliteRows

/** Logout notifications, claimed by one node at a time under a lease. */
export function sqliteLogoutOutbox(sqlite: Sqlite): LogoutOutbox {
  const { db } = sqlite
  // Ignores a conflict on id as well as on (client_id, sid), so a retried enqueue is harmless.
  const insert = db.prepare(`
    INSERT INTO logout_outbox (${notificationColumns})
    VALUES (@id, @client_id, @backchannel_logout_uri, @sub, @sid, @created_at, @attempts, @next_attempt_at,
      @claimed_by, @claim_expires_at, @delivered_at, @gave_up_at, @last_error)
    ON CONFLICT DO NOTHING`)
  // One statement picks and claims, so two claimers can never pick the same row. The inner WHERE
  // repeats the logout_outbox_due index's condition so the index serves it.
  const claimDue = db.prepare(`
    UPDATE logout_outbox SET claimed_by = @node, claim_expires_at = @claim_expires_at
    WHERE id IN (
      SELECT id FROM logout_outbox
      WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= @now
        AND (claimed_by IS NULL OR claim_expires_at <= @now)
      ORDER BY next_attempt_at, id
      LIMIT @limit)
    RETURNING ${notificationColumns}`)
  // Each outcome counts one attempt and ends the claim; a node whose claim was taken over acts on nothing.
  const markDelivered = db.prepare(`
    UPDATE logout_outbox SET delivered_at = @now, attempts = attempts + 1, claimed_by = NULL, claim_expires_at = NULL
    WHERE id = @id AND claimed_by = @node`)
  const markFailed = db.prepare(`
    UPDATE logout_outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @next_attempt_at,
      claimed_by = NULL, claim_expires_at = NULL
    WHERE id = @id AND claimed_by = @node`)
  const markGaveUp = db.prepare(`
    UPDATE logout_outbox SET gave_up_at = @now, attempts = attempts + 1, last_error = @error,
      claimed_by = NULL, claim_expires_at = NULL
    WHERE id = @id AND claimed_by = @node`)
  const releaseClaims = db.prepare('UPDATE logout_outbox SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = ?')
  const select = db.prepare(`SELECT ${notificationColumns} FROM logout_outbox WHERE id = ?`)
  const counts = db.prepare(`
    SELECT
      coalesce(sum(delivered_at IS NULL AND gave_up_at IS NULL), 0) AS pending,
      coalesce(sum(delivered_at IS NOT NULL), 0) AS delivered,
      coalesce(sum(gave_up_at IS NOT NULL), 0) AS gave_up
    FROM logout_outbox`)

  return {
    async enqueue(notifications) {
      sqlite.write(() => {
        for (const n of notifications) {
          insert.run({
            id: n.id,
            client_id: n.client_id,
            backchannel_logout_uri: n.backchannel_logout_uri,
            sub: n.sub,
            sid: n.sid,
            created_at: n.created_at,
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at,
            claimed_by: n.claimed_by ?? null,
            claim_expires_at: n.claim_expires_at ?? null,
            delivered_at: n.delivered_at ?? null,
            gave_up_at: n.gave_up_at ?? null,
            last_error: n.last_error ?? null,
          })
        }
      })
    },
    async claimDue(node, now, leaseMs, limit) {
      const rows = claimDue.all({ node, now, claim_expires_at: now + leaseMs, limit }) as NotificationRow<SqliteColumns>[]
      // RETURNING yields rows in no promised order.
      return rows.map(toNotification).sort(byDueTime)
    },
    async markDelivered(id, node, now) {
      markDelivered.run({ id, node, now })
    },
    async markFailed(id, node, error, nextAttemptAt) {
      markFailed.run({ id, node, error, next_attempt_at: nextAttemptAt })
    },
    async markGaveUp(id, node, error, now) {
      markGaveUp.run({ id, node, error, now })
    },
    async releaseClaims(node) {
      releaseClaims.run(node)
    },
    async get(id) {
      const row = select.get(id) as NotificationRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toNotification(row)
    },
    async counts() {
      const row = counts.get() as { pending: number; delivered: number; gave_up: number }
      return { pending: row.pending, delivered: row.delivered, gave_up: row.gave_up }
    },
  }
}

/** An append-only log; events with the same time come back latest-appended first. */
export function sqliteAuditLog({ db }: Sqlite): AuditLog {
  const insert = db.prepare(`INSERT INTO audit_log (${auditColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const recent = db.prepare(`SELECT ${auditColumns} FROM audit_log ORDER BY at DESC, seq DESC LIMIT ?`)

  return {
    async append(event) {
      insert.run(
        event.at,
        event.type,
        event.actor ?? null,
        event.subject ?? null,
        event.client_id ?? null,
        event.before_digest ?? null,
        event.after_digest ?? null,
        event.detail === undefined ? null : JSON.stringify(event.detail),
      )
    },
    async recent(limit) {
      return (recent.all(limit) as AuditRow<SqliteColumns>[]).map(toAuditEvent)
    },
  }
}
