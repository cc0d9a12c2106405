/**
 * Short-lived state: SSO sessions, sign-in journeys, single-use markers and rate counters.
 */
import type { InteractionStore, RateCounter, ReplayCache, SessionStore } from '@careid/ports'
import { rateWindowEnd } from '@careid/ports'
import { sessionColumns, type InteractionRow, type SessionRow } from '../sql_rows.ts'
import { int8, json, postgresRows, type Postgres, type PostgresColumns } from './database.ts'

const { toInteraction, toSession } = postgresRows

/** SSO sessions, keyed by the cookie secret's hash, unique by sid. */
export function postgresSessionStore({ query }: Postgres): SessionStore {
  async function changed(text: string, values: unknown[]): Promise<boolean> {
    const { rowCount } = await query(text, values)
    return (rowCount ?? 0) > 0
  }

  return {
    async create(session) {
      await query(`INSERT INTO sessions (${sessionColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, [
        session.session_hash,
        session.sid,
        session.sub,
        json(session.amr),
        session.aal,
        session.auth_time,
        session.created_at,
        session.last_seen_at,
        session.expires_at,
        session.idle_expires_at,
        session.selected_roleid ?? null,
        json(session.clients),
        session.binding ?? null,
      ])
    },
    async get(sessionHash) {
      const { rows } = await query<SessionRow<PostgresColumns>>(`SELECT ${sessionColumns} FROM sessions WHERE session_hash = $1`, [sessionHash])
      return rows[0] === undefined ? undefined : toSession(rows[0])
    },
    async getBySid(sid) {
      const { rows } = await query<SessionRow<PostgresColumns>>(`SELECT ${sessionColumns} FROM sessions WHERE sid = $1`, [sid])
      return rows[0] === undefined ? undefined : toSession(rows[0])
    },
    async touch(sessionHash, lastSeenAt, idleExpiresAt) {
      // GREATEST: concurrent requests may touch out of order; the later time wins whichever lands last.
      return changed(
        `UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $2), idle_expires_at = GREATEST(idle_expires_at, $3)
        WHERE session_hash = $1`,
        [sessionHash, lastSeenAt, idleExpiresAt],
      )
    },
    async addClient(sessionHash, clientId) {
      // One statement: a concurrent addition holds the row lock, and this one's SET is then
      // recomputed from the row it committed, so neither client is lost.
      return changed(
        `UPDATE sessions SET clients = CASE
          WHEN clients @> jsonb_build_array($2::text) THEN clients
          ELSE clients || jsonb_build_array($2::text) END
        WHERE session_hash = $1`,
        [sessionHash, clientId],
      )
    },
    async setSelectedRole(sessionHash, roleId) {
      return changed('UPDATE sessions SET selected_roleid = $2 WHERE session_hash = $1', [sessionHash, roleId])
    },
    async reauthenticate(sessionHash, changes) {
      // One statement: the row lock makes a concurrent caller wait, then find no row at the old
      // hash; a hash already taken fails the primary key.
      return changed(
        `UPDATE sessions SET session_hash = $9, amr = $2, aal = $3, auth_time = $4, last_seen_at = $5, expires_at = $6, idle_expires_at = $7, binding = $8
        WHERE session_hash = $1`,
        [
          sessionHash,
          json(changes.amr),
          changes.aal,
          changes.auth_time,
          changes.last_seen_at,
          changes.expires_at,
          changes.idle_expires_at,
          changes.binding ?? null,
          changes.session_hash,
        ],
      )
    },
    async remove(sessionHash) {
      const { rows } = await query<SessionRow<PostgresColumns>>(`DELETE FROM sessions WHERE session_hash = $1 RETURNING ${sessionColumns}`, [sessionHash])
      return rows[0] === undefined ? undefined : toSession(rows[0])
    },
    async listByBinding(binding) {
      const { rows } = await query<SessionRow<PostgresColumns>>(`SELECT ${sessionColumns} FROM sessions WHERE binding = $1 ORDER BY created_at, sid`, [binding])
      return rows.map(toSession)
    },
    async listBySub(sub) {
      const { rows } = await query<SessionRow<PostgresColumns>>(`SELECT ${sessionColumns} FROM sessions WHERE sub = $1 ORDER BY created_at, sid`, [sub])
      return rows.map(toSession)
    },
    async listExpired(now, limit) {
      // Matches the sessions_by_end index expression exactly, so the sweep is an index range scan.
      const { rows } = await query<SessionRow<PostgresColumns>>(
        `SELECT ${sessionColumns} FROM sessions
        WHERE LEAST(expires_at, idle_expires_at) <= $1 ORDER BY LEAST(expires_at, idle_expires_at) LIMIT $2`,
        [now, limit],
      )
      return rows.map(toSession)
    },
  }
}

/** Sign-in journeys; an expired one reads as gone even before the sweep deletes it. */
export function postgresInteractionStore({ query }: Postgres): InteractionStore {
  return {
    async put(interaction) {
      await query(
        `INSERT INTO interactions (id, expires_at, payload) VALUES ($1, $2, $3)
        ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, payload = EXCLUDED.payload`,
        [interaction.id, interaction.expires_at, json(interaction.payload)],
      )
    },
    async get(id, now) {
      const { rows } = await query<InteractionRow<PostgresColumns>>('SELECT id, expires_at, payload FROM interactions WHERE id = $1 AND expires_at > $2', [id, now])
      return rows[0] === undefined ? undefined : toInteraction(rows[0])
    },
    async remove(id) {
      const { rowCount } = await query('DELETE FROM interactions WHERE id = $1', [id])
      return (rowCount ?? 0) > 0
    },
    async removeExpired(now) {
      const { rowCount } = await query('DELETE FROM interactions WHERE expires_at <= $1', [now])
      return rowCount ?? 0
    },
  }
}

/** Single-use markers; an expired marker counts as absent, so its key may be recorded again. */
export function postgresReplayCache({ query }: Postgres): ReplayCache {
  return {
    async markUsed(key, expiresAt, now) {
      // One statement decides: it inserts, or revives an expired marker, or changes nothing. A
      // concurrent insert of the same key waits for the first to commit and then takes the
      // conflict branch, whose WHERE fails on the live marker.
      const { rowCount } = await query(
        `INSERT INTO replay_markers (key, expires_at) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE replay_markers.expires_at <= $3`,
        [key, expiresAt, now],
      )
      return (rowCount ?? 0) > 0
    },
    async has(key, now) {
      const { rows } = await query('SELECT 1 FROM replay_markers WHERE key = $1 AND expires_at > $2', [key, now])
      return rows.length > 0
    },
    async removeExpired(now) {
      const { rowCount } = await query('DELETE FROM replay_markers WHERE expires_at <= $1', [now])
      return rowCount ?? 0
    },
  }
}

/** Rate counters: one row per key and window; a hit is one upsert, so it is atomic. */
export function postgresRateCounter({ query }: Postgres): RateCounter {
  return {
    async hit(key, windowMs, now) {
      // A concurrent first hit waits for the other's insert to commit, then takes the conflict
      // branch and counts on top of it.
      const { rows } = await query<{ hits: string }>(
        `INSERT INTO rate_counters (key, window_end, hits) VALUES ($1, $2, 1)
        ON CONFLICT (key, window_end) DO UPDATE SET hits = rate_counters.hits + 1
        RETURNING hits`,
        [key, rateWindowEnd(windowMs, now)],
      )
      return int8((rows[0] as { hits: string }).hits)
    },
    async peek(key, windowMs, now) {
      const { rows } = await query<{ hits: string }>('SELECT hits FROM rate_counters WHERE key = $1 AND window_end = $2', [key, rateWindowEnd(windowMs, now)])
      return rows[0] === undefined ? 0 : int8(rows[0].hits)
    },
    async removeExpired(now) {
      const { rowCount } = await query('DELETE FROM rate_counters WHERE window_end <= $1', [now])
      return rowCount ?? 0
    },
  }
}
