/**
 * The Redis key layout and the Lua scripts that keep each record and its indexes consistent.
 *
 * Every key is `prefix + kind + ':' + value`. Kinds are fixed words without ':', so the kind ends at
 * the first ':' after the prefix and the value is everything after it: whatever a caller passes as
 * a value (a hash, a sid, a replay key such as `jti:1`), it can never spell another kind's key.
 *
 * Each script is one atomic step (Redis runs a script with nothing interleaved), so single use and
 * index upkeep need no locks. Scripts compare caller times (`now`) for every decision; the wall
 * clock they are given is used only to size garbage-collection TTLs.
 */
import type { Redis } from 'ioredis'

/** What a key holds; the word between the prefix and the value. */
export type KeyKind = 'code' | 'session' | 'sid' | 'binding' | 'person' | 'interaction' | 'replay' | 'expiry' | 'rate'

/**
 * Sorted sets that index records by when they end (the score): the `expiry` kind's values. For
 * sessions the score is min(expires_at, idle_expires_at); for the rest, expires_at.
 */
export type ExpiryIndex = 'codes' | 'sessions' | 'interactions' | 'replay'

/**
 * Leads every script. ARGV[1..3] are the same for all of them: the key prefix (to build the keys of
 * indexes named by a stored record, such as a session's sid key), the adapter's wall clock and the
 * garbage-collection margin.
 */
const prelude = `
local prefix, gc_now, gc_margin = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local function key(kind, value) return prefix .. kind .. ':' .. value end
-- A TTL that outlives the record's contract end by the margin. It is relative (PEXPIRE), so the
-- skew between this host's clock and Redis' does not matter.
local function gc_ttl(end_at)
  local remaining = tonumber(end_at) - gc_now
  if remaining < 0 then remaining = 0 end
  return string.format('%d', remaining + gc_margin)
end
-- Times are compared as numbers but written back as the caller's own strings: Lua would format
-- large numbers in exponent notation.
local function earlier(a, b)
  if tonumber(a) <= tonumber(b) then return a end
  return b
end
local function as_map(flat)
  local map = {}
  for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
  return map
end
-- Adds a member to an index set that outlives its longest-lived member (PTTL is -1 for a set just
-- created).
local function keep_member(set, member, ttl)
  redis.call('SADD', set, member)
  if redis.call('PTTL', set) < tonumber(ttl) then redis.call('PEXPIRE', set, ttl) end
end
-- Re-arms a session's TTLs (record, sid index, binding set, person set) and its place in the
-- expiry index. The person set holds sids, which stay with a session for its whole life.
local function keep_session(hash, sid, binding, end_at)
  local ttl = gc_ttl(end_at)
  redis.call('PEXPIRE', key('session', hash), ttl)
  redis.call('PEXPIRE', key('sid', sid), ttl)
  if binding then keep_member(key('binding', binding), hash, ttl) end
  keep_member(key('person', redis.call('HGET', key('session', hash), 'sub')), sid, ttl)
  redis.call('ZADD', key('expiry', 'sessions'), end_at, hash)
end
`

interface ScriptDefinition {
  /** How many leading arguments are KEYS; the common ARGV[1..3] follow them. */
  keys: number
  lua: string
}

/** Every script, by name. Script-specific arguments start at ARGV[4]. */
const scripts = {
  // KEYS: code, expiry:codes. ARGV: code_hash, expires_at, then field/value pairs.
  codeSave: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('ERR careid: code_hash already stored') end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], gc_ttl(ARGV[5]))
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
return 1`,
  },
  // KEYS: code. ARGV: now. Returns {outcome, field, value, ...}.
  codeRedeem: {
    keys: 1,
    lua: `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {'absent'} end
local code = as_map(fields)
-- Redeemed before: reuse, even past expiry. Never redeemed and now expired: absent.
if code.redeemed_at then
  table.insert(fields, 1, 'reused')
  return fields
end
if tonumber(code.expires_at) <= tonumber(ARGV[4]) then return {'absent'} end
redis.call('HSET', KEYS[1], 'redeemed_at', ARGV[4])
table.insert(fields, 1, 'first')
return fields`,
  },
  // KEYS: session, sid. ARGV: session_hash, sid, end, has binding ('1'/'0'), binding, then field/value pairs.
  sessionCreate: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('ERR careid: session_hash already stored') end
local holder = redis.call('GET', KEYS[2])
if holder and redis.call('EXISTS', key('session', holder)) == 1 then
  return redis.error_reply('ERR careid: sid already in use')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('SET', KEYS[2], ARGV[4])
local binding = false
if ARGV[7] == '1' then binding = ARGV[8] end
keep_session(ARGV[4], ARGV[5], binding, ARGV[6])
return 1`,
  },
  // KEYS: sid. Returns the session's fields, or an empty list.
  sessionBySid: {
    keys: 1,
    lua: `
local hash = redis.call('GET', KEYS[1])
if not hash then return {} end
return redis.call('HGETALL', key('session', hash))`,
  },
  // KEYS: session. ARGV: last_seen_at, idle_expires_at. Returns 1, or 0 when the session is gone.
  sessionTouch: {
    keys: 1,
    lua: `
local s = redis.call('HMGET', KEYS[1], 'session_hash', 'sid', 'binding', 'last_seen_at', 'expires_at', 'idle_expires_at')
if not s[1] then return 0 end
-- Concurrent requests may touch out of order; the later time wins whichever lands last.
if tonumber(ARGV[4]) > tonumber(s[4]) then redis.call('HSET', KEYS[1], 'last_seen_at', ARGV[4]) end
local idle = s[6]
if tonumber(ARGV[5]) > tonumber(idle) then
  idle = ARGV[5]
  redis.call('HSET', KEYS[1], 'idle_expires_at', idle)
end
keep_session(s[1], s[2], s[3], earlier(s[5], idle))
return 1`,
  },
  // KEYS: session. ARGV: client_id. Returns 1, or 0 when the session is gone.
  sessionAddClient: {
    keys: 1,
    lua: `
local clients = redis.call('HGET', KEYS[1], 'clients')
if not clients then return 0 end
local list = cjson.decode(clients)
for _, client in ipairs(list) do
  if client == ARGV[4] then return 1 end
end
-- Never empty once appended to, so cjson cannot mistake the list for an empty object.
list[#list + 1] = ARGV[4]
redis.call('HSET', KEYS[1], 'clients', cjson.encode(list))
return 1`,
  },
  // KEYS: session. ARGV: field, value. Returns 1, or 0 when the session is gone.
  sessionSetField: {
    keys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
return 1`,
  },
  // KEYS: session, new session. ARGV: new session_hash, end, has binding ('1'/'0'), binding, then
  // field/value pairs.
  sessionReauthenticate: {
    keys: 2,
    lua: `
local s = redis.call('HMGET', KEYS[1], 'session_hash', 'sid', 'binding')
if not s[1] then return 0 end
local hash = ARGV[4]
if hash ~= s[1] then
  if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('ERR careid: session_hash already stored') end
  -- The record, the sid index and the expiry index move to the new hash; the binding set below.
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[2], 'session_hash', hash)
  redis.call('SET', key('sid', s[2]), hash)
  redis.call('ZREM', key('expiry', 'sessions'), s[1])
end
redis.call('HSET', KEYS[2], unpack(ARGV, 8))
local binding = false
if ARGV[6] == '1' then
  binding = ARGV[7]
  redis.call('HSET', KEYS[2], 'binding', binding)
else
  redis.call('HDEL', KEYS[2], 'binding')
end
if s[3] and (s[3] ~= binding or hash ~= s[1]) then redis.call('SREM', key('binding', s[3]), s[1]) end
keep_session(hash, s[2], binding, ARGV[5])
return 1`,
  },
  // KEYS: session. Returns the removed session's fields, or an empty list.
  sessionRemove: {
    keys: 1,
    lua: `
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return fields end
local s = as_map(fields)
redis.call('DEL', KEYS[1])
local sid = key('sid', s.sid)
if redis.call('GET', sid) == s.session_hash then redis.call('DEL', sid) end
if s.binding then redis.call('SREM', key('binding', s.binding), s.session_hash) end
redis.call('SREM', key('person', s.sub), s.sid)
redis.call('ZREM', key('expiry', 'sessions'), s.session_hash)
return fields`,
  },
  // KEYS: binding. Returns a list of sessions' fields.
  sessionsByBinding: {
    keys: 1,
    lua: `
local out = {}
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  -- A member whose session the TTL collected is skipped; the set's own TTL collects it.
  local fields = redis.call('HGETALL', key('session', hash))
  if #fields > 0 then out[#out + 1] = fields end
end
return out`,
  },
  // KEYS: person. Returns a list of sessions' fields.
  sessionsBySub: {
    keys: 1,
    lua: `
local out = {}
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  -- As for bindings: a member whose session is gone is skipped, and collected with the set.
  local hash = redis.call('GET', key('sid', sid))
  if hash then
    local fields = redis.call('HGETALL', key('session', hash))
    if #fields > 0 then out[#out + 1] = fields end
  end
end
return out`,
  },
  // KEYS: expiry:sessions. ARGV: now, limit. Returns a list of sessions' fields, soonest-ended first.
  sessionsExpired: {
    keys: 1,
    lua: `
local out, limit = {}, tonumber(ARGV[5])
while #out < limit do
  local wanted = limit - #out
  -- Live entries already taken stay in the index, so the next page starts after them.
  local hashes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', #out, wanted)
  for _, hash in ipairs(hashes) do
    local fields = redis.call('HGETALL', key('session', hash))
    -- A session the TTL collected leaves its index entry behind; drop it here, or a page of them
    -- would end the caller's sweep early.
    if #fields == 0 then redis.call('ZREM', KEYS[1], hash) else out[#out + 1] = fields end
  end
  if #hashes < wanted then break end
end
return out`,
  },
  // KEYS: interaction, expiry:interactions. ARGV: id, expires_at, payload.
  interactionPut: {
    keys: 2,
    lua: `
redis.call('HSET', KEYS[1], 'expires_at', ARGV[5], 'payload', ARGV[6])
redis.call('PEXPIRE', KEYS[1], gc_ttl(ARGV[5]))
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
return 1`,
  },
  // KEYS: interaction, expiry:interactions. ARGV: id. Returns how many were deleted (0 or 1).
  interactionRemove: {
    keys: 2,
    lua: `
local removed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[4])
return removed`,
  },
  // KEYS: replay, expiry:replay. ARGV: key, expires_at, now. Returns 1 when recorded, 0 when already.
  replayMark: {
    keys: 2,
    lua: `
local current = redis.call('GET', KEYS[1])
-- A marker that has ended by the caller's clock counts as absent, so the key is recorded afresh.
if current and tonumber(current) > tonumber(ARGV[6]) then return 0 end
redis.call('SET', KEYS[1], ARGV[5], 'PX', gc_ttl(ARGV[5]))
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
return 1`,
  },
  // KEYS: one key's counter in one window. ARGV: the milliseconds left in that window.
  rateHit: {
    keys: 1,
    lua: `
local hits = redis.call('INCR', KEYS[1])
-- The first hit sets its lifetime: the counter goes when its window ends (PEXPIRE is relative, so
-- the skew between this host's clock and Redis' does not matter).
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return hits`,
  },
  // KEYS: an expiry index. ARGV: the indexed records' kind, cutoff, batch size.
  // Returns {entries taken from the index, records deleted}.
  removeEnded: {
    keys: 1,
    lua: `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[5], 'LIMIT', 0, ARGV[6])
local removed = 0
for _, member in ipairs(members) do
  -- Records the TTL already collected are not counted: this call did not delete them.
  removed = removed + redis.call('DEL', key(ARGV[4], member))
end
if #members > 0 then redis.call('ZREM', KEYS[1], unpack(members)) end
return {#members, removed}`,
  },
} satisfies Record<string, ScriptDefinition>

/** The name of one of the adapter's scripts. */
export type ScriptName = keyof typeof scripts

/** What every part of the adapter shares: the connection, the key layout and the scripts. */
export interface RedisContext {
  readonly client: Redis
  /** The full key of a record or index. */
  key(kind: KeyKind, value: string): string
  /** Runs a script with `keys` as KEYS and `args` after the common leading arguments. */
  run(script: ScriptName, keys: string[], args: string[]): Promise<unknown>
}

/**
 * Registers every script on `client` (ioredis sends EVALSHA and falls back to EVAL when the server
 * has not seen a script, e.g. after a restart) and returns the shared context.
 */
export function createContext(client: Redis, prefix: string, gcMarginMs: number): RedisContext {
  for (const [name, script] of Object.entries(scripts)) {
    client.defineCommand(name, { numberOfKeys: script.keys, lua: prelude + script.lua })
  }
  // defineCommand adds a method per script that ioredis' types cannot know about.
  const commands = client as unknown as Record<ScriptName, (...args: string[]) => Promise<unknown>>
  return {
    client,
    key: (kind, value) => `${prefix}${kind}:${value}`,
    run: (script, keys, args) => commands[script](...keys, prefix, String(Date.now()), String(gcMarginMs), ...args),
  }
}

/** Turns a flat [field, value, ...] reply into a map. */
export function fieldMap(flat: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>()
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string)
  return fields
}

/** A field every stored record of its kind has; its absence means the data is not ours. */
export function required(fields: ReadonlyMap<string, string>, name: string): string {
  const value = fields.get(name)
  if (value === undefined) throw new Error(`careid redis store: stored record lacks ${name}`)
  return value
}

/** How many index entries one removeExpired script takes at a time, so Redis is never blocked long. */
const removeBatch = 500

/**
 * Deletes the records of `kind` whose indexed end is <= cutoff, a batch per script, and returns how
 * many records this call deleted.
 */
export async function removeEnded(context: RedisContext, kind: KeyKind, index: ExpiryIndex, cutoff: number): Promise<number> {
  let removed = 0
  for (;;) {
    const [taken, deleted] = (await context.run('removeEnded', [context.key('expiry', index)], [kind, String(cutoff), String(removeBatch)])) as [number, number]
    removed += deleted
    if (taken < removeBatch) return removed
  }
}
