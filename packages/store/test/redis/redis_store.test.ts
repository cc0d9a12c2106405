import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import { combineStores } from '../../src/composite.ts'
import { MINUTE, session, T } from '../../src/conformance/fixtures.ts'
import { runStoreConformance } from '../../src/conformance/index.ts'
import type { AuthorizationCodeRecord } from '@careid/ports'
import { openPostgresStore } from '../../src/postgres/postgres_store.ts'
import { openRedisStore, type RedisShortLivedStore, type RedisStoreOptions } from '../../src/redis/redis_store.ts'
import { openSqliteStore } from '../../src/sqlite/sqlite_store.ts'
import { ensurePostgres, ensureRedis, type Service } from '../support/services.ts'

function code(hash: string, changes: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return { code_hash: hash, client_id: 'client-a', redirect_uri: 'https://a.example/cb', grant_id: `grant-${hash}`, expires_at: T + MINUTE, payload: { nonce: 'n' }, ...changes }
}

/** A TCP relay to Redis that a test can silence or shut down. */
class Relay {
  readonly server: Server
  readonly sockets = new Set<Socket>()
  readonly target: URL

  constructor(target: string) {
    this.target = new URL(target)
    this.server = createServer((inbound) => {
      const outbound = connect(Number(this.target.port || 6379), this.target.hostname)
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket)
        socket.on('error', () => socket.destroy())
        socket.on('close', () => this.sockets.delete(socket))
      }
      inbound.pipe(outbound).pipe(inbound)
    })
  }

  async listen(port = 0): Promise<string> {
    this.server.listen(port, '127.0.0.1')
    await once(this.server, 'listening')
    const url = new URL(this.target)
    url.hostname = '127.0.0.1'
    url.port = String((this.server.address() as AddressInfo).port)
    return url.href
  }

  /** Keeps connections open but passes nothing on: Redis seems to hang. */
  silence(): void {
    for (const socket of this.sockets) socket.pause()
  }

  /** Drops every connection and stops listening: Redis seems to have stopped. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.server.close()
    await once(this.server, 'close')
  }
}

const redis = await ensureRedis()
if (redis.available) {
  suites(redis.url, await ensurePostgres())
} else {
  describe('storage contract: sqlite+redis', { skip: redis.reason }, () => {})
}

function suites(redisUrl: string, postgres: Service): void {
  /** Reads and cleans up keys behind the adapter's back. */
  const admin = new Redis(redisUrl, { lazyConnect: true })
  before(() => admin.connect())
  after(() => admin.quit())

  /** A key prefix no other test (or run) uses. */
  function freshPrefix(): string {
    return `careid-test:${randomUUID()}:`
  }

  /** Every key under `prefix`, sorted. */
  async function keysUnder(prefix: string): Promise<string[]> {
    // A UUID-based prefix holds no glob characters, so it matches itself literally.
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      found.push(...keys)
      cursor = next
    } while (cursor !== '0')
    return found.sort()
  }

  async function dropPrefix(prefix: string): Promise<void> {
    const keys = await keysUnder(prefix)
    if (keys.length > 0) await admin.del(...keys)
  }

  runStoreConformance('sqlite+redis', async () => {
    const prefix = freshPrefix()
    const store = combineStores(await openSqliteStore({ path: ':memory:' }), await openRedisStore({ url: redisUrl, keyPrefix: prefix }))
    return {
      store,
      async cleanup() {
        await store.close()
        await dropPrefix(prefix)
      },
    }
  })

  if (postgres.available) {
    const pgAdmin = new pg.Pool({ connectionString: postgres.url, max: 2 })
    pgAdmin.on('error', () => {})
    after(() => pgAdmin.end())
    runStoreConformance('postgres+redis', async () => {
      // A schema of its own (the store's first migration creates it), so each test starts empty.
      const schema = `careid_redis_test_${randomBytes(6).toString('hex')}`
      const prefix = freshPrefix()
      const store = combineStores(await openPostgresStore({ url: postgres.url, schema }), await openRedisStore({ url: redisUrl, keyPrefix: prefix }))
      return {
        store,
        async cleanup() {
          await store.close()
          await pgAdmin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
          await dropPrefix(prefix)
        },
      }
    })
  } else {
    describe('storage contract: postgres+redis', { skip: postgres.reason }, () => {})
  }

  /** Runs `body` with stores opened on one fresh prefix, closing them and dropping the keys after. */
  async function withStores(count: number, body: (stores: RedisShortLivedStore[], prefix: string) => Promise<void>, options: Partial<RedisStoreOptions> = {}): Promise<void> {
    const prefix = freshPrefix()
    const stores: RedisShortLivedStore[] = []
    try {
      for (let i = 0; i < count; i++) stores.push(await openRedisStore({ url: redisUrl, keyPrefix: prefix, ...options }))
      await body(stores, prefix)
    } finally {
      for (const store of stores) await store.close()
      await dropPrefix(prefix)
    }
  }

  /** `n` calls started together, alternating between the stores (so between connections). */
  function race<R>(stores: RedisShortLivedStore[], n: number, call: (store: RedisShortLivedStore) => Promise<R>): Promise<R[]> {
    return Promise.all(Array.from({ length: n }, (_, i) => call(stores[i % stores.length] as RedisShortLivedStore)))
  }

  describe('redis adapter: single use across connections', () => {
    it('concurrent redeems on two connections: one first, the rest reused', async () => {
      await withStores(2, async (stores) => {
        await stores[0]?.codes.save(code('c1'))
        const outcomes = await race(stores, 40, (store) => store.codes.redeem('c1', T))
        assert.equal(outcomes.filter((o) => o.kind === 'first').length, 1)
        assert.equal(outcomes.filter((o) => o.kind === 'reused').length, 39)
      })
    })

    it('concurrent markUsed on two connections: exactly one true', async () => {
      await withStores(2, async (stores) => {
        const results = await race(stores, 40, (store) => store.replay.markUsed('jti:race', T + MINUTE, T))
        assert.equal(results.filter((r) => r).length, 1)
      })
    })

    it('concurrent removes on two connections: exactly one gets the session', async () => {
      await withStores(2, async (stores) => {
        await stores[1]?.sessions.create(session('h1', { binding: 'card-1' }))
        const results = await race(stores, 40, (store) => store.sessions.remove('h1'))
        assert.deepStrictEqual(
          results.filter((r) => r !== undefined),
          [session('h1', { binding: 'card-1' })],
        )
      })
    })
  })

  describe('redis adapter: keys and indexes', () => {
    it('keeps every key under the prefix and leaves none once every record is gone', async () => {
      await withStores(1, async ([store], prefix) => {
        assert.ok(store)
        await store.codes.save(code('c1'))
        await store.codes.redeem('c1', T)
        await store.sessions.create(session('h1', { binding: 'card-1' }))
        await store.sessions.addClient('h1', 'client-a')
        await store.sessions.touch('h1', T + 1, T + 31 * MINUTE)
        await store.sessions.reauthenticate('h1', { session_hash: 'h2', amr: ['PWD'], aal: 2, auth_time: T + 2, last_seen_at: T + 2, expires_at: T + 60 * MINUTE, idle_expires_at: T + 40 * MINUTE, binding: 'card-2' })
        await store.interactions.put({ id: 'i1', expires_at: T + MINUTE, payload: {} })
        await store.replay.markUsed('jti:1', T + MINUTE, T)
        assert.deepStrictEqual(await keysUnder(prefix), [
          `${prefix}binding:card-2`,
          `${prefix}code:c1`,
          `${prefix}expiry:codes`,
          `${prefix}expiry:interactions`,
          `${prefix}expiry:replay`,
          `${prefix}expiry:sessions`,
          `${prefix}interaction:i1`,
          `${prefix}person:555000000001`,
          `${prefix}replay:jti:1`,
          `${prefix}session:h2`,
          `${prefix}sid:sid-h1`,
        ])

        assert.ok(await store.sessions.remove('h2'))
        assert.equal(await store.interactions.remove('i1'), true)
        assert.equal(await store.codes.removeExpired(T + MINUTE, 0), 1)
        assert.equal(await store.replay.removeExpired(T + MINUTE), 1)
        assert.deepStrictEqual(await keysUnder(prefix), [])
      })
    })

    it('a rate counter is one key per key and window, living until its window ends', async () => {
      await withStores(1, async ([store], prefix) => {
        assert.ok(store)
        // A minute-long window ends at the next whole minute; T is 20 s into one.
        const windowEnd = Math.floor(T / MINUTE) * MINUTE + MINUTE
        assert.equal(await store.rates.hit('h1', MINUTE, T), 1)
        assert.equal(await store.rates.hit('h1', MINUTE, T + 1), 2)
        assert.equal(await store.rates.hit('h1', MINUTE, windowEnd), 1)
        assert.deepStrictEqual(await keysUnder(prefix), [`${prefix}rate:${windowEnd}:h1`, `${prefix}rate:${windowEnd + MINUTE}:h1`])
        const ttl = await admin.pttl(`${prefix}rate:${windowEnd}:h1`)
        // Set by the first hit to the time left in the window by the caller's clock, and kept.
        assert.ok(ttl > windowEnd - T - 1_000 && ttl <= windowEnd - T, `ttl ${ttl}`)
        assert.equal(await store.rates.removeExpired(windowEnd + MINUTE), 0)
      })
    })

    it('values that look like other keys stay confined to their own records', async () => {
      await withStores(1, async ([store]) => {
        assert.ok(store)
        // With a plain concatenation these would collide: sid "session:h1" against session "h1", etc.
        const tricky = session('h1', { sid: 'session:h1', binding: 'sid:session:h1' })
        await store.sessions.create(tricky)
        await store.interactions.put({ id: 'session:h1', expires_at: T + MINUTE, payload: { a: 1 } })
        assert.equal(await store.replay.markUsed('session:h1', T + MINUTE, T), true)
        assert.equal(await store.replay.markUsed('sid:session:h1', T + MINUTE, T), true)
        assert.equal(await store.interactions.remove('session:h1'), true)
        assert.deepStrictEqual(await store.sessions.get('h1'), tricky)
        assert.deepStrictEqual(await store.sessions.getBySid('session:h1'), tricky)
        assert.deepStrictEqual(await store.sessions.listByBinding('sid:session:h1'), [tricky])
        assert.equal(await store.sessions.get('session:h1'), undefined)
        assert.deepStrictEqual(await store.codes.redeem('session:h1', T), { kind: 'absent' })
      })
    })

    it('touch and reauthenticate move a session in the expiry index and between bindings', async () => {
      await withStores(1, async ([store]) => {
        assert.ok(store)
        await store.sessions.create(session('a', { idle_expires_at: T + 10, binding: 'card-1' }))
        await store.sessions.create(session('b', { idle_expires_at: T + 20 }))
        assert.deepStrictEqual((await store.sessions.listExpired(T + 20, 10)).map((s) => s.session_hash), ['a', 'b'])
        await store.sessions.touch('a', T + 5, T + 30)
        assert.deepStrictEqual((await store.sessions.listExpired(T + 20, 10)).map((s) => s.session_hash), ['b'])
        assert.deepStrictEqual((await store.sessions.listExpired(T + 30, 10)).map((s) => s.session_hash), ['b', 'a'])

        const changes = { session_hash: 'a', amr: ['PWD'], aal: 1 as const, auth_time: T + 6, last_seen_at: T + 6, expires_at: T + 1, idle_expires_at: T + 99, binding: 'card-2' }
        await store.sessions.reauthenticate('a', changes)
        assert.deepStrictEqual((await store.sessions.listExpired(T + 20, 10)).map((s) => s.session_hash), ['a', 'b'])
        assert.deepStrictEqual(await store.sessions.listByBinding('card-1'), [])
        assert.deepStrictEqual((await store.sessions.listByBinding('card-2')).map((s) => s.session_hash), ['a'])
      })
    })

    it('listByBinding orders by created_at, then sid', async () => {
      await withStores(1, async ([store]) => {
        assert.ok(store)
        await store.sessions.create(session('h1', { binding: 'card', sid: 'z', created_at: T + 1 }))
        await store.sessions.create(session('h2', { binding: 'card', sid: 'y', created_at: T + 1 }))
        await store.sessions.create(session('h3', { binding: 'card', sid: 'x', created_at: T + 2 }))
        await store.sessions.create(session('h4', { binding: 'card', sid: 'w', created_at: T }))
        assert.deepStrictEqual((await store.sessions.listByBinding('card')).map((s) => s.sid), ['w', 'y', 'z', 'x'])
      })
    })

    it('keeps working after Redis forgets its scripts (as on a restart)', async () => {
      await withStores(1, async ([store]) => {
        assert.ok(store)
        await store.codes.save(code('c1'))
        await admin.script('FLUSH')
        assert.equal((await store.codes.redeem('c1', T)).kind, 'first')
      })
    })

    it('refuses a second session with the same hash or sid, changing nothing', async () => {
      await withStores(1, async ([store]) => {
        assert.ok(store)
        await store.sessions.create(session('h1', { binding: 'card-1' }))
        await assert.rejects(store.sessions.create(session('h1', { sid: 'other', binding: 'card-2' })))
        await assert.rejects(store.sessions.create(session('h2', { sid: 'sid-h1', binding: 'card-2' })))
        assert.equal(await store.sessions.get('h2'), undefined)
        assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), session('h1', { binding: 'card-1' }))
        assert.deepStrictEqual(await store.sessions.listByBinding('card-2'), [])
      })
    })
  })

  describe('redis adapter: TTLs', () => {
    // Small next to the lifetimes below, so a TTL that ignored a record's end would show.
    const shortMargin = { gcMarginMs: 1000 }

    it('every record and index entry outlives its contract end', async () => {
      await withStores(1, async ([store], prefix) => {
        assert.ok(store)
        // Real times: the TTLs are then measured against a clock Redis also follows.
        const now = Date.now()
        const ends = { code: now + MINUTE, session: now + 30 * MINUTE, interaction: now + 10 * MINUTE, replay: now + 5 * MINUTE }
        await store.codes.save(code('c1', { expires_at: ends.code }))
        await store.sessions.create(session('h1', { expires_at: now + 60 * MINUTE, idle_expires_at: ends.session, binding: 'card-1' }))
        await store.interactions.put({ id: 'i1', expires_at: ends.interaction, payload: {} })
        await store.replay.markUsed('jti:1', ends.replay, now)
        const ttls: [string, number][] = [
          ['code:c1', ends.code],
          ['session:h1', ends.session],
          ['sid:sid-h1', ends.session],
          ['binding:card-1', ends.session],
          ['interaction:i1', ends.interaction],
          ['replay:jti:1', ends.replay],
        ]
        for (const [key, end] of ttls) {
          const ttl = await admin.pttl(`${prefix}${key}`)
          const floor = end - Date.now()
          assert.ok(ttl > floor, `${key}: TTL ${ttl} ms ends before the contract's ${floor} ms`)
        }
        assert.equal((await store.codes.redeem('c1', now)).kind, 'first')
      }, shortMargin)
    })

    it('touch pushes the TTLs out with the idle limit', async () => {
      await withStores(1, async ([store], prefix) => {
        assert.ok(store)
        const now = Date.now()
        await store.sessions.create(session('h1', { last_seen_at: now, expires_at: now + 600 * MINUTE, idle_expires_at: now + MINUTE, binding: 'card-1' }))
        await store.sessions.touch('h1', now + 1, now + 120 * MINUTE)
        for (const key of ['session:h1', 'sid:sid-h1', 'binding:card-1']) {
          const ttl = await admin.pttl(`${prefix}${key}`)
          assert.ok(ttl > now + 120 * MINUTE - Date.now(), `${key}: TTL ${ttl} ms`)
        }
      }, shortMargin)
    })

    it('collects records once the GC margin has passed, leaving the indexes usable', { timeout: 30_000 }, async () => {
      await withStores(
        1,
        async ([store], prefix) => {
          assert.ok(store)
          // The conformance suite's clock (2023) is long past: these records live for the margin alone.
          await store.codes.save(code('c1', { expires_at: T }))
          await store.sessions.create(session('gone', { expires_at: T, idle_expires_at: T, binding: 'card-1' }))
          while ((await admin.exists(`${prefix}code:c1`, `${prefix}session:gone`, `${prefix}sid:sid-gone`)) > 0) {
            await new Promise((resolve) => setTimeout(resolve, 50))
          }
          // The collected session's index entries are skipped, and its sid is free again.
          await store.sessions.create(session('live', { expires_at: T, idle_expires_at: T, sid: 'sid-gone', binding: 'card-1' }))
          assert.deepStrictEqual((await store.sessions.listExpired(T, 10)).map((s) => s.session_hash), ['live'])
          assert.deepStrictEqual((await store.sessions.listByBinding('card-1')).map((s) => s.session_hash), ['live'])
          assert.equal((await store.sessions.getBySid('sid-gone'))?.session_hash, 'live')
          assert.equal(await admin.zscore(`${prefix}expiry:sessions`, 'gone'), null, 'the stale index entry was dropped')
          // removeExpired counts only what it deleted itself, and empties the index.
          assert.equal(await store.codes.removeExpired(T, 0), 0)
          assert.equal(await admin.exists(`${prefix}expiry:codes`), 0)
        },
        { gcMarginMs: 100 },
      )
    })
  })

  describe('redis adapter: an unavailable Redis', () => {
    const options = { connectTimeoutMs: 500, commandTimeoutMs: 500 }

    it('opening against a port nothing listens on fails', { timeout: 30_000 }, async () => {
      await assert.rejects(openRedisStore({ url: 'redis://127.0.0.1:1', ...options }), /cannot open the Redis store/)
    })

    it('opening against a server that never answers fails', { timeout: 30_000 }, async () => {
      const accepted = new Set<Socket>()
      const silent = createServer((socket) => accepted.add(socket))
      silent.listen(0, '127.0.0.1')
      await once(silent, 'listening')
      const port = (silent.address() as AddressInfo).port
      try {
        await assert.rejects(openRedisStore({ url: `redis://127.0.0.1:${port}`, ...options }), /not ready within 500 ms/)
      } finally {
        for (const socket of accepted) socket.destroy()
        silent.close()
      }
    })

    it('a call to a Redis that stopped answering fails at its timeout', { timeout: 30_000 }, async () => {
      const relay = new Relay(redisUrl)
      const store = await openRedisStore({ url: await relay.listen(), keyPrefix: freshPrefix(), ...options })
      try {
        assert.equal(await store.ping(), true)
        relay.silence()
        await assert.rejects(store.replay.markUsed('jti:1', T + MINUTE, T), /timed out/)
        assert.equal(await store.ping(), false)
      } finally {
        await relay.stop()
        await store.close()
      }
    })

    it('calls to a stopped Redis fail rather than wait, and work again once it is back', { timeout: 30_000 }, async () => {
      const prefix = freshPrefix()
      const relay = new Relay(redisUrl)
      const url = await relay.listen()
      const store = await openRedisStore({ url, keyPrefix: prefix, ...options })
      const restarted = new Relay(redisUrl)
      try {
        await store.sessions.create(session('h1'))
        await relay.stop()
        await assert.rejects(store.sessions.get('h1'))
        await assert.rejects(store.codes.redeem('c1', T))
        assert.equal(await store.ping(), false)

        await restarted.listen(Number(new URL(url).port))
        while (!(await store.ping())) await new Promise((resolve) => setTimeout(resolve, 100))
        assert.deepStrictEqual(await store.sessions.get('h1'), session('h1'))
      } finally {
        await store.close()
        if (restarted.server.listening) await restarted.stop()
        await dropPrefix(prefix)
      }
    })
  })

  describe('combined store', () => {
    it('is ready only while both halves are, and closes both', async () => {
      const prefix = freshPrefix()
      const durable = await openSqliteStore({ path: ':memory:' })
      const shortLived = await openRedisStore({ url: redisUrl, keyPrefix: prefix })
      const store = combineStores(durable, shortLived)
      assert.equal(await store.ping(), true)
      await shortLived.close()
      assert.equal(await store.ping(), false)
      assert.equal(await durable.ping(), true)
      await store.close()
      assert.equal(await durable.ping(), false)
      await dropPrefix(prefix)
    })

    it('serves the short-lived records from Redis and the rest from the durable store', async () => {
      const prefix = freshPrefix()
      const durable = await openSqliteStore({ path: ':memory:' })
      const store = combineStores(durable, await openRedisStore({ url: redisUrl, keyPrefix: prefix }))
      try {
        await store.sessions.create(session('h1'))
        await store.replay.markUsed('jti:1', T + MINUTE, T)
        assert.equal(await durable.sessions.get('h1'), undefined)
        assert.equal(await durable.replay.has('jti:1', T), false)
        assert.ok((await keysUnder(prefix)).includes(`${prefix}session:h1`))
        await store.audit.append({ at: T, type: 'test' })
        assert.deepStrictEqual(await durable.audit.recent(1), [{ at: T, type: 'test' }])
      } finally {
        await store.close()
        await dropPrefix(prefix)
      }
    })
  })
}
