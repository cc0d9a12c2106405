/**
 * Short-lived state: SSO sessions, sign-in journeys, single-use markers and rate counters.
 */
import type { InteractionStore, RateCounter, ReplayCache, SessionStore } from '@careid/ports'
import { rateWindowEnd } from '@careid/ports'
import { sessionColumns, type InteractionRow, type SessionRow } from '../sql_rows.ts'
import { sqliteRows, type Sqlite, type SqliteColumns } from './database.ts'

const { toInteraction, toSession } = sqliteRows

/** SSO sessions, keyed by the cookie secret's hash, unique by sid. */
export function sqliteSessionStore({ db }: Sqlite): SessionStore {
  const insert = db.prepare(`
    INSERT INTO sessions (${sessionColumns})
    VALUES (@session_hash, @sid, @sub, @amr, @aal, @auth_time, @created_at, @last_seen_at, @expires_at,
      @idle_expires_at, @selected_roleid, @clients, @binding)`)
  const select = db.prepare(`SELECT ${sessionColumns} FROM sessions WHERE session_hash = ?`)
  const selectBySid = db.prepare(`SELECT ${sessionColumns} FROM sessions WHERE sid = ?`)
  // max(): concurrent requests may touch out of order; the later time wins whichever lands last.
  const touch = db.prepare(`
    UPDATE sessions SET last_seen_at = max(last_seen_at, @last_seen_at), idle_expires_at = max(idle_expires_at, @idle_expires_at)
    WHERE session_hash = @session_hash`)
  // One statement, so two concurrent additions cannot overwrite each other's client.
  const addClient = db.prepare(`
    UPDATE sessions SET clients = CASE
      WHEN EXISTS (SELECT 1 FROM json_each(sessions.clients) WHERE value = @client_id) THEN clients
      ELSE json_insert(clients, '$[#]', @client_id) END
    WHERE session_hash = @session_hash`)
  const setSelectedRole = db.prepare('UPDATE sessions SET selected_roleid = ? WHERE session_hash = ?')
  // One statement: the key moves with the facts (a hash already taken fails the primary key).
  const reauthenticate = db.prepare(`
    UPDATE sessions SET session_hash = @new_session_hash, amr = @amr, aal = @aal, auth_time = @auth_time, last_seen_at = @last_seen_at,
      expires_at = @expires_at, idle_expires_at = @idle_expires_at, binding = @binding
    WHERE session_hash = @session_hash`)
  const remove = db.prepare(`DELETE FROM sessions WHERE session_hash = ? RETURNING ${sessionColumns}`)
  const selectBySub = db.prepare(`SELECT ${sessionColumns} FROM sessions WHERE sub = ? ORDER BY created_at, sid`)
  const selectByBinding = db.prepare(`SELECT ${sessionColumns} FROM sessions WHERE binding = ? ORDER BY created_at, sid`)
  // Matches the sessions_by_end index expression exactly, so the sweep is an index range scan.
  const listExpired = db.prepare(`SELECT ${sessionColumns} FROM sessions WHERE min(expires_at, idle_expires_at) <= ? ORDER BY min(expires_at, idle_expires_at) LIMIT ?`)

  return {
    async create(session) {
      insert.run({
        session_hash: session.session_hash,
        sid: session.sid,
        sub: session.sub,
        amr: JSON.stringify(session.amr),
        aal: session.aal,
        auth_time: session.auth_time,
        created_at: session.created_at,
        last_seen_at: session.last_seen_at,
        expires_at: session.expires_at,
        idle_expires_at: session.idle_expires_at,
        selected_roleid: session.selected_roleid ?? null,
        clients: JSON.stringify(session.clients),
        binding: session.binding ?? null,
      })
    },
    async get(sessionHash) {
      const row = select.get(sessionHash) as SessionRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toSession(row)
    },
    async getBySid(sid) {
      const row = selectBySid.get(sid) as SessionRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toSession(row)
    },
    async touch(sessionHash, lastSeenAt, idleExpiresAt) {
      return touch.run({ session_hash: sessionHash, last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt }).changes > 0
    },
    async addClient(sessionHash, clientId) {
      return addClient.run({ session_hash: sessionHash, client_id: clientId }).changes > 0
    },
    async setSelectedRole(sessionHash, roleId) {
      return setSelectedRole.run(roleId, sessionHash).changes > 0
    },
    async reauthenticate(sessionHash, changes) {
      return (
        reauthenticate.run({
          session_hash: sessionHash,
          new_session_hash: changes.session_hash,
          amr: JSON.stringify(changes.amr),
          aal: changes.aal,
          auth_time: changes.auth_time,
          last_seen_at: changes.last_seen_at,
          expires_at: changes.expires_at,
          idle_expires_at: changes.idle_expires_at,
          binding: changes.binding ?? null,
        }).changes > 0
      )
    },
    async remove(sessionHash) {
      const row = (remove.all(sessionHash) as SessionRow<SqliteColumns>[])[0]
      return row === undefined ? undefined : toSession(row)
    },
    async listByBinding(binding) {
      return (selectByBinding.all(binding) as SessionRow<SqliteColumns>[]).map(toSession)
    },
    async listBySub(sub) {
      return (selectBySub.all(sub) as SessionRow<SqliteColumns>[]).map(toSession)
    },
    async listExpired(now, limit) {
      return (listExpired.all(now, limit) as SessionRow<SqliteColumns>[]).map(toSession)
    },
  }
}

/** Sign-in journeys; an expired one reads as gone even before the sweep deletes it. */
export function sqliteInteractionStore({ db }: Sqlite): InteractionStore {
  const upsert = db.prepare(`
    INSERT INTO interactions (id, expires_at, payload) VALUES (@id, @expires_at, @payload)
    ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, payload = excluded.payload`)
  const select = db.prepare('SELECT id, expires_at, payload FROM interactions WHERE id = ? AND expires_at > ?')
  const remove = db.prepare('DELETE FROM interactions WHERE id = ?')
  const removeExpired = db.prepare('DELETE FROM interactions WHERE expires_at <= ?')

  return {
    async put(interaction) {
      upsert.run({ id: interaction.id, expires_at: interaction.expires_at, payload: JSON.stringify(interaction.payload) })
    },
    async get(id, now) {
      const row = select.get(id, now) as InteractionRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toInteraction(row)
    },
    async remove(id) {
      return remove.run(id).changes > 0
    },
    async removeExpired(now) {
      return removeExpired.run(now).changes
    },
  }
}

/** Single-use markers; an expired marker counts as absent, so its key may be recorded again. */
export function sqliteReplayCache({ db }: Sqlite): ReplayCache {
  // One statement decides: it inserts, or revives an expired marker, or changes nothing.
  const markUsed = db.prepare(`
    INSERT INTO replay_markers (key, expires_at) VALUES (@key, @expires_at)
    ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE replay_markers.expires_at <= @now`)
  const has = db.prepare('SELECT 1 AS found FROM replay_markers WHERE key = ? AND expires_at > ?')
  const removeExpired = db.prepare('DELETE FROM replay_markers WHERE expires_at <= ?')

  return {
    async markUsed(key, expiresAt, now) {
      return markUsed.run({ key, expires_at: expiresAt, now }).changes > 0
    },
    async has(key, now) {
      return has.get(key, now) !== undefined
    },
    async removeExpired(now) {
      return removeExpired.run(now).changes
    },
  }
}

/** Rate counters: one row per key and window; a hit is one upsert, so it is atomic. */
export function sqliteRateCounter({ db }: Sqlite): RateCounter {
  const hit = db.prepare(`
    INSERT INTO rate_counters (key, window_end, hits) VALUES (?, ?, 1)
    ON CONFLICT (key, window_end) DO UPDATE SET hits = rate_counters.hits + 1
    RETURNING hits`)
  const peek = db.prepare('SELECT hits FROM rate_counters WHERE key = ? AND window_end = ?')
  const removeExpired = db.prepare('DELETE FROM rate_counters WHERE window_end <= ?')

  return {
    async hit(key, windowMs, now) {
      return (hit.get(key, rateWindowEnd(windowMs, now)) as { hits: number }).hits
    },
    async peek(key, windowMs, now) {
      return (peek.get(key, rateWindowEnd(windowMs, now)) as { hits: number } | undefined)?.hits ?? 0
    },
    async removeExpired(now) {
      return removeExpired.run(now).changes
    },
  }
}
