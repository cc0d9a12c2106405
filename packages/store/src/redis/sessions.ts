/**
 * Short-lived state in Redis: SSO sessions (with sid, binding, person and expiry indexes), sign-in journeys,
 * single-use markers and rate counters. Every write that touches a record and its indexes is one
 * script.
 */
import type { InteractionRecord, InteractionStore, RateCounter, ReplayCache, SessionRecord, SessionStore } from '@careid/ports'
import { rateWindowEnd } from '@careid/ports'
import { fieldMap, removeEnded, required, type RedisContext } from './scripts.ts'

function toSession(fields: ReadonlyMap<string, string>): SessionRecord {
  const session: SessionRecord = {
    session_hash: required(fields, 'session_hash'),
    sid: required(fields, 'sid'),
    sub: required(fields, 'sub'),
    amr: JSON.parse(required(fields, 'amr')) as string[],
    aal: Number(required(fields, 'aal')) as SessionRecord['aal'],
    auth_time: Number(required(fields, 'auth_time')),
    created_at: Number(required(fields, 'created_at')),
    last_seen_at: Number(required(fields, 'last_seen_at')),
    expires_at: Number(required(fields, 'expires_at')),
    idle_expires_at: Number(required(fields, 'idle_expires_at')),
    clients: JSON.parse(required(fields, 'clients')) as string[],
  }
  // An unset optional field is no hash field at all, so it stays absent here too.
  const role = fields.get('selected_roleid')
  if (role !== undefined) session.selected_roleid = role
  const binding = fields.get('binding')
  if (binding !== undefined) session.binding = binding
  return session
}

/** A session as a script returned it: its flat field list, empty when there is none. */
function toSessionOrUndefined(flat: string[]): SessionRecord | undefined {
  return flat.length === 0 ? undefined : toSession(fieldMap(flat))
}

/** Where a session ends: whichever limit comes first (the expiry index's score). */
function endOf(session: Pick<SessionRecord, 'expires_at' | 'idle_expires_at'>): string {
  return String(Math.min(session.expires_at, session.idle_expires_at))
}

/** An optional binding as the scripts take it: a presence flag, then the value. */
function bindingArgs(binding: string | undefined): [string, string] {
  return binding === undefined ? ['0', ''] : ['1', binding]
}

/** Orders as the SQL adapters do: by created_at, then sid. */
function byCreation(a: SessionRecord, b: SessionRecord): number {
  return a.created_at - b.created_at || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0)
}

/** SSO sessions, keyed by the cookie secret's hash, unique by sid. */
export function redisSessionStore(context: RedisContext): SessionStore {
  const sessionKey = (hash: string) => context.key('session', hash)

  return {
    async create(session) {
      const fields = [
        ...['session_hash', session.session_hash, 'sid', session.sid, 'sub', session.sub, 'amr', JSON.stringify(session.amr)],
        ...['aal', String(session.aal), 'auth_time', String(session.auth_time), 'created_at', String(session.created_at)],
        ...['last_seen_at', String(session.last_seen_at), 'expires_at', String(session.expires_at)],
        ...['idle_expires_at', String(session.idle_expires_at), 'clients', JSON.stringify(session.clients)],
      ]
      if (session.selected_roleid !== undefined) fields.push('selected_roleid', session.selected_roleid)
      if (session.binding !== undefined) fields.push('binding', session.binding)
      await context.run(
        'sessionCreate',
        [sessionKey(session.session_hash), context.key('sid', session.sid)],
        [session.session_hash, session.sid, endOf(session), ...bindingArgs(session.binding), ...fields],
      )
    },
    async get(sessionHash) {
      const fields = await context.client.hgetall(sessionKey(sessionHash))
      return Object.keys(fields).length === 0 ? undefined : toSession(new Map(Object.entries(fields)))
    },
    async getBySid(sid) {
      return toSessionOrUndefined((await context.run('sessionBySid', [context.key('sid', sid)], [])) as string[])
    },
    async touch(sessionHash, lastSeenAt, idleExpiresAt) {
      return (await context.run('sessionTouch', [sessionKey(sessionHash)], [String(lastSeenAt), String(idleExpiresAt)])) === 1
    },
    async addClient(sessionHash, clientId) {
      return (await context.run('sessionAddClient', [sessionKey(sessionHash)], [clientId])) === 1
    },
    async setSelectedRole(sessionHash, roleId) {
      return (await context.run('sessionSetField', [sessionKey(sessionHash)], ['selected_roleid', roleId])) === 1
    },
    async reauthenticate(sessionHash, changes) {
      const fields = [
        ...['amr', JSON.stringify(changes.amr), 'aal', String(changes.aal), 'auth_time', String(changes.auth_time)],
        ...['last_seen_at', String(changes.last_seen_at), 'expires_at', String(changes.expires_at)],
        ...['idle_expires_at', String(changes.idle_expires_at)],
      ]
      const result = await context.run('sessionReauthenticate', [sessionKey(sessionHash), sessionKey(changes.session_hash)], [
        changes.session_hash,
        endOf(changes),
        ...bindingArgs(changes.binding),
        ...fields,
      ])
      return result === 1
    },
    async remove(sessionHash) {
      return toSessionOrUndefined((await context.run('sessionRemove', [sessionKey(sessionHash)], [])) as string[])
    },
    async listByBinding(binding) {
      const found = (await context.run('sessionsByBinding', [context.key('binding', binding)], [])) as string[][]
      return found.map((flat) => toSession(fieldMap(flat))).sort(byCreation)
    },
    async listBySub(sub) {
      const found = (await context.run('sessionsBySub', [context.key('person', sub)], [])) as string[][]
      return found.map((flat) => toSession(fieldMap(flat))).sort(byCreation)
    },
    async listExpired(now, limit) {
      const found = (await context.run('sessionsExpired', [context.key('expiry', 'sessions')], [String(now), String(limit)])) as string[][]
      return found.map((flat) => toSession(fieldMap(flat)))
    },
  }
}

/** Sign-in journeys; an expired one reads as gone even before the sweep or its TTL deletes it. */
export function redisInteractionStore(context: RedisContext): InteractionStore {
  const index = context.key('expiry', 'interactions')

  return {
    async put(interaction) {
      await context.run('interactionPut', [context.key('interaction', interaction.id), index], [
        interaction.id,
        String(interaction.expires_at),
        JSON.stringify(interaction.payload),
      ])
    },
    async get(id, now) {
      const [expiresAt, payload] = await context.client.hmget(context.key('interaction', id), 'expires_at', 'payload')
      if (expiresAt === null || payload === null || Number(expiresAt) <= now) return undefined
      return { id, expires_at: Number(expiresAt), payload: JSON.parse(payload) as InteractionRecord['payload'] }
    },
    async remove(id) {
      return (await context.run('interactionRemove', [context.key('interaction', id), index], [id])) === 1
    },
    async removeExpired(now) {
      return removeEnded(context, 'interaction', 'interactions', now)
    },
  }
}

/** Single-use markers; an expired marker counts as absent, so its key may be recorded again. */
export function redisReplayCache(context: RedisContext): ReplayCache {
  return {
    async markUsed(key, expiresAt, now) {
      const recorded = await context.run('replayMark', [context.key('replay', key), context.key('expiry', 'replay')], [key, String(expiresAt), String(now)])
      return recorded === 1
    },
    async has(key, now) {
      const expiresAt = await context.client.get(context.key('replay', key))
      return expiresAt !== null && Number(expiresAt) > now
    },
    async removeExpired(now) {
      return removeEnded(context, 'replay', 'replay', now)
    },
  }
}

/**
 * Rate counters: one key per key and window (`rate:<window end>:<key>`), counted and given its
 * lifetime by one script. Redis deletes each when its window ends, so there is no index to sweep.
 */
export function redisRateCounter(context: RedisContext): RateCounter {
  return {
    async hit(key, windowMs, now) {
      const windowEnd = rateWindowEnd(windowMs, now)
      return (await context.run('rateHit', [context.key('rate', `${windowEnd}:${key}`)], [String(windowEnd - now)])) as number
    },
    async peek(key, windowMs, now) {
      return Number((await context.client.get(context.key('rate', `${rateWindowEnd(windowMs, now)}:${key}`))) ?? 0)
    },
    async removeExpired() {
      return 0
    },
  }
}
