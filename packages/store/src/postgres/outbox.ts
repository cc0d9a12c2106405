/**
 * The durable back-channel logout outbox and the audit log.
 */
import type { AuditLog, LogoutOutbox } from '@careid/ports'
import { auditColumns, byDueTime, notificationColumns, type AuditRow, type NotificationRow } from '../sql_rows.ts'
import { json, postgresRows, type Postgres, type PostgresColumns } from './database.ts'

const { toAuditEvent, toNotification } = postgresRows

/** The notification columns with their types, for reading a batch out of one JSON parameter. */
const notificationRecord =
  'id text, client_id text, backchannel_logout_uri text, sub text, sid text, created_at bigint, attempts integer, ' +
  'next_attempt_at bigint, claimed_by text, claim_expires_at bigint, delivered_at bigint, gave_up_at bigint, last_error text'

/** Logout notifications, claimed by one node at a time under a lease. */
export function postgresLogoutOutbox({ query }: Postgres): LogoutOutbox {
  return {
    async enqueue(notifications) {
      if (notifications.length === 0) return
      // One statement for the batch, so it is stored whole or not at all. Rows go in in the given
      // order, so within a batch the first notification for a (client_id, sid) is the one kept.
      // DO NOTHING without a target ignores a conflict on id as well, so a retried enqueue is harmless.
      await query(
        `INSERT INTO logout_outbox (${notificationColumns})
        SELECT ${notificationColumns}
        FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (${notificationRecord}))
          WITH ORDINALITY AS batch (${notificationColumns}, position)
        ORDER BY position
        ON CONFLICT DO NOTHING`,
        [json(notifications)],
      )
    },
    async claimDue(node, now, leaseMs, limit) {
      // SKIP LOCKED: a claimer passes over rows another claimer is taking right now instead of
      // waiting for them, and a row it does lock is re-checked against its latest committed state,
      // so no two claimers, on any node, get the same notification.
      const { rows } = await query<NotificationRow<PostgresColumns>>(
        `UPDATE logout_outbox SET claimed_by = $1, claim_expires_at = $2
        WHERE id IN (
          SELECT id FROM logout_outbox
          WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $3
            AND (claimed_by IS NULL OR claim_expires_at <= $3)
          ORDER BY next_attempt_at, id
          LIMIT $4
          FOR UPDATE SKIP LOCKED)
        RETURNING ${notificationColumns}`,
        [node, now + leaseMs, now, limit],
      )
      // RETURNING yields rows in no promised order.
      return rows.map(toNotification).sort(byDueTime)
    },
    // Each outcome counts one attempt and ends the claim; a node whose claim was taken over acts on nothing.
    async markDelivered(id, node, now) {
      await query(
        `UPDATE logout_outbox SET delivered_at = $3, attempts = attempts + 1, claimed_by = NULL, claim_expires_at = NULL
        WHERE id = $1 AND claimed_by = $2`,
        [id, node, now],
      )
    },
    async markFailed(id, node, error, nextAttemptAt) {
      await query(
        `UPDATE logout_outbox SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4,
          claimed_by = NULL, claim_expires_at = NULL
        WHERE id = $1 AND claimed_by = $2`,
        [id, node, error, nextAttemptAt],
      )
    },
    async markGaveUp(id, node, error, now) {
      await query(
        `UPDATE logout_outbox SET gave_up_at = $4, attempts = attempts + 1, last_error = $3,
          claimed_by = NULL, claim_expires_at = NULL
        WHERE id = $1 AND claimed_by = $2`,
        [id, node, error, now],
      )
    },
    async releaseClaims(node) {
      await query('UPDATE logout_outbox SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = $1', [node])
    },
    async get(id) {
      const { rows } = await query<NotificationRow<PostgresColumns>>(`SELECT ${notificationColumns} FROM logout_outbox WHERE id = $1`, [id])
      return rows[0] === undefined ? undefined : toNotification(rows[0])
    },
    async counts() {
      const { rows } = await query<{ pending: number; delivered: number; gave_up: number }>(`
        SELECT
          count(*) FILTER (WHERE delivered_at IS NULL AND gave_up_at IS NULL)::integer AS pending,
          count(*) FILTER (WHERE delivered_at IS NOT NULL)::integer AS delivered,
          count(*) FILTER (WHERE gave_up_at IS NOT NULL)::integer AS gave_up
        FROM logout_outbox`)
      const row = rows[0]
      return { pending: row?.pending ?? 0, delivered: row?.delivered ?? 0, gave_up: row?.gave_up ?? 0 }
    },
  }
}

/** An append-only log; events with the same time come back latest-appended first. */
export function postgresAuditLog({ query }: Postgres): AuditLog {
  return {
    async append(event) {
      await query(`INSERT INTO audit_log (${auditColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
        event.at,
        event.type,
        event.actor ?? null,
        event.subject ?? null,
        event.client_id ?? null,
        event.before_digest ?? null,
        event.after_digest ?? null,
        event.detail === undefined ? null : json(event.detail),
      ])
    },
    async recent(limit) {
      const { rows } = await query<AuditRow<PostgresColumns>>(`SELECT ${auditColumns} FROM audit_log ORDER BY at DESC, seq DESC LIMIT $1`, [limit])
      return rows.map(toAuditEvent)
    },
  }
}
