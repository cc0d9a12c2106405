import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { after, describe, it } from 'node:test'
import Database from 'libsql'
import pg from 'pg'
import { StoreUnavailable, type Store } from '@careid/ports'
import { runStoreConformance } from '../../src/conformance/index.ts'
import { guardStore } from '../../src/guard.ts'
import { sqliteMigrations } from '../../src/sqlite/migrations.ts'
import { openPool, resolveOptions, type PostgresStoreOptions } from '../../src/postgres/database.ts'
import { latestPostgresSchemaVersion, migratePostgres, postgresMigrations } from '../../src/postgres/migrations.ts'
import { openPostgresStore } from '../../src/postgres/postgres_store.ts'
import { ensurePostgres } from '../support/services.ts'

const T = 1_700_000_000_000
const MINUTE = 60_000

const postgres = await ensurePostgres()
if (postgres.available) {
  suites(postgres.url)
} else {
  // A skipped test rather than a skipped suite: node's summary counts it, so the gap shows.
  it('storage contract and adapter: postgres', { skip: postgres.reason }, () => {})
}

function suites(url: string): void {
  const admin = new pg.Pool({ connectionString: url, max: 4 })
  admin.on('error', () => {})
  /** Schemas this run made and has not dropped yet (a failed test may leave one). */
  const schemas = new Set<string>()
  /** The next conformance test's schema, being made while the current test runs. */
  let nextSchema: Promise<string> | undefined
  after(async () => {
    await nextSchema?.catch(() => undefined)
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
  })

  /** A unique schema name; created now unless `create` is false (the store then creates it). */
  async function freshSchema(create = true): Promise<string> {
    const schema = `careid_test_${randomBytes(6).toString('hex')}`
    schemas.add(schema)
    if (create) await admin.query(`CREATE SCHEMA ${schema}`)
    return schema
  }

  async function dropSchema(schema: string): Promise<void> {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    schemas.delete(schema)
  }

  function open(schema: string, options: Partial<PostgresStoreOptions> = {}): Promise<Store> {
    return openPostgresStore({ url, schema, ...options })
  }

  /**
   * Migrating a schema takes a few hundred milliseconds of the server's time, most of this file's
   * run; the next test's schema is made while the current test runs.
   */
  function preparedSchema(): Promise<string> {
    const prepare = async () => {
      const schema = await freshSchema()
      await migratePostgres(url, { schema })
      return schema
    }
    const current = nextSchema ?? prepare()
    nextSchema = prepare()
    // Awaited by the next test; left unused by the last one, whose schema after() drops.
    nextSchema.catch(() => undefined)
    return current
  }

  runStoreConformance('postgres', async () => {
    const schema = await preparedSchema()
    const store = await open(schema)
    return {
      store,
      async cleanup() {
        await store.close()
        await dropSchema(schema)
      },
    }
  })

  interface LedgerRow {
    version: number
    name: string
    applied_at: string
  }

  async function ledger(schema: string): Promise<{ version: number; name: string; applied_at: number }[]> {
    const { rows } = await admin.query<LedgerRow>(`SELECT version, name, applied_at FROM ${schema}.careid_schema_migrations ORDER BY version`)
    return rows.map((row) => ({ version: row.version, name: row.name, applied_at: Number(row.applied_at) }))
  }

  /** Each table's columns, in order. */
  async function postgresTables(schema: string): Promise<Record<string, string[]>> {
    const { rows } = await admin.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = $1 AND table_name <> 'careid_schema_migrations' ORDER BY table_name, ordinal_position`,
      [schema],
    )
    const tables: Record<string, string[]> = {}
    for (const row of rows) (tables[row.table_name] ??= []).push(row.column_name)
    return tables
  }

  function sqliteTables(): Record<string, string[]> {
    const db = new Database(':memory:')
    try {
      for (const migration of sqliteMigrations) db.exec(migration.sql)
      const names = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]
      const tables: Record<string, string[]> = {}
      for (const { name } of names) tables[name] = (db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[]).map((c) => c.name)
      return tables
    } finally {
      db.close()
    }
  }

  describe('postgres adapter: schema', () => {
    it('migrates a schema that does not exist yet to the latest version', async () => {
      const schema = await freshSchema(false)
      const before = Date.now()
      const store = await open(schema)
      assert.equal(await store.ping(), true)
      await store.close()
      const applied = await ledger(schema)
      assert.deepStrictEqual(
        applied.map(({ version, name }) => ({ version, name })),
        postgresMigrations.map(({ version, name }) => ({ version, name })),
      )
      assert.equal(applied.at(-1)?.version, latestPostgresSchemaVersion)
      for (const row of applied) assert.ok(row.applied_at >= before && row.applied_at <= Date.now())
      await dropSchema(schema)
    })

    it('has the same migrations, tables and columns as the SQLite adapter', async () => {
      assert.deepStrictEqual(
        postgresMigrations.map(({ version, name }) => ({ version, name })),
        sqliteMigrations.map(({ version, name }) => ({ version, name })),
      )
      // The same versions as SQLite's, which its own test checks climb from 1.
      const schema = await freshSchema()
      await migratePostgres(url, { schema })
      assert.deepStrictEqual(await postgresTables(schema), sqliteTables())
      await dropSchema(schema)
    })

    it('reopening applies nothing again and keeps the data', async () => {
      const schema = await freshSchema()
      const first = await open(schema)
      const client = {
        client_id: 'a',
        client_name: 'A',
        redirect_uris: ['https://a.example/cb'],
        post_logout_redirect_uris: [],
        token_endpoint_auth_method: 'none' as const,
        refresh_tokens: true,
        created_at: T,
      }
      await first.clients.put(client)
      await first.replay.markUsed('jti', T + 100, T)
      await first.close()
      const applied = await ledger(schema)

      const second = await open(schema)
      assert.equal(await second.ping(), true)
      assert.deepStrictEqual(await second.clients.get('a'), client)
      assert.equal(await second.replay.markUsed('jti', T + 100, T + 50), false)
      await second.close()
      assert.equal(await migratePostgres(url, { schema }), latestPostgresSchemaVersion)
      assert.deepStrictEqual(await ledger(schema), applied)
      await dropSchema(schema)
    })

    it('four nodes starting at once on an empty schema migrate it exactly once', async () => {
      const schema = await freshSchema(false)
      // An operator's migrate command joins the race too.
      const [stores, version] = await Promise.all([
        Promise.all(Array.from({ length: 4 }, () => open(schema, { poolSize: 2 }))),
        migratePostgres(url, { schema }),
      ])
      assert.equal(version, latestPostgresSchemaVersion)
      for (const store of stores) assert.equal(await store.ping(), true)
      assert.deepStrictEqual(
        (await ledger(schema)).map((row) => row.version),
        postgresMigrations.map((migration) => migration.version),
      )
      await stores[0]?.replay.markUsed('k', T + 1, T)
      assert.equal(await stores[3]?.replay.has('k', T), true)
      await Promise.all(stores.map((store) => store.close()))
      await dropSchema(schema)
    })

    it('refuses a schema migrated by a newer Careid', async () => {
      const schema = await freshSchema()
      await migratePostgres(url, { schema })
      await admin.query(`INSERT INTO ${schema}.careid_schema_migrations (version, name, applied_at) VALUES ($1, 'from the future', 0)`, [
        latestPostgresSchemaVersion + 1,
      ])
      await assert.rejects(open(schema), /newer/)
      await assert.rejects(migratePostgres(url, { schema }), /newer/)
      await dropSchema(schema)
    })

    it('ping is false when the schema is no longer at the latest version', async () => {
      const schema = await freshSchema()
      const store = await open(schema)
      await admin.query(`DELETE FROM ${schema}.careid_schema_migrations WHERE version = $1`, [latestPostgresSchemaVersion])
      assert.equal(await store.ping(), false)
      await store.close()
      await dropSchema(schema)
    })

    it('refuses options that cannot work before connecting', async () => {
      await assert.rejects(openPostgresStore({ url, schema: 'x; DROP TABLE clients' }), RangeError)
      await assert.rejects(openPostgresStore({ url, poolSize: 0 }), RangeError)
      await assert.rejects(openPostgresStore({ url, statementTimeoutMs: 1.5 }), RangeError)
    })

    it('connections identify themselves as careid', async () => {
      const schema = await freshSchema()
      const store = await open(schema)
      await store.ping()
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM pg_stat_activity WHERE application_name = 'careid' AND datname = current_database()`,
      )
      assert.ok((rows[0]?.n ?? 0) > 0)
      await store.close()
      await dropSchema(schema)
    })
  })

  describe('postgres adapter: races between nodes', () => {
    const CONTENDERS = 10

    /** Two stores with their own pools on one schema: two nodes. */
    async function twoNodes(): Promise<{ nodes: Store[]; done(): Promise<void> }> {
      const schema = await freshSchema()
      const nodes = await Promise.all([open(schema), open(schema)])
      return {
        nodes,
        async done() {
          await Promise.all(nodes.map((node) => node.close()))
          await dropSchema(schema)
        },
      }
    }

    /** Every contender calls at once, alternating between the nodes. */
    function race<R>(nodes: Store[], call: (node: Store, i: number) => Promise<R>): Promise<R[]> {
      return Promise.all(Array.from({ length: CONTENDERS }, (_, i) => call(nodes[i % nodes.length] as Store, i)))
    }

    const count = <R>(items: R[], pick: (item: R) => boolean) => items.filter(pick).length

    it('each single-use operation has exactly one winner across nodes', async () => {
      const { nodes, done } = await twoNodes()
      const [a] = nodes as [Store, Store]
      await a.codes.save({ code_hash: 'c', client_id: 'client-a', redirect_uri: 'https://a.example/cb', grant_id: 'g', expires_at: T + MINUTE, payload: {} })
      await a.grants.put({ grant_id: 'g', client_id: 'client-a', sub: 's', sid: 'sid', scope: 'openid', created_at: T, expires_at: T + MINUTE })
      await a.refreshTokens.put({ token_hash: 'r', grant_id: 'g', client_id: 'client-a', created_at: T, expires_at: T + MINUTE })
      await a.sessions.create({ session_hash: 'h', sid: 'sid', sub: 's', amr: ['PWD'], aal: 1, auth_time: T, created_at: T, last_seen_at: T, expires_at: T + MINUTE, idle_expires_at: T + MINUTE, clients: [] })
      await a.keys.put({ kid: 'old', alg: 'RS256', public_jwk: {}, private_jwk_encrypted: 'x', state: 'active', created_at: T, activate_at: T })
      await a.keys.put({ kid: 'new', alg: 'RS256', public_jwk: {}, private_jwk_encrypted: 'x', state: 'next', created_at: T, activate_at: T })
      await a.credentials.put({ id: 'cred', uid: 'u', kind: 'password', secret: 'x', state: {}, version: 0, created_at: T })

      const redeemed = await race(nodes, (node) => node.codes.redeem('c', T))
      assert.equal(count(redeemed, (r) => r.kind === 'first'), 1)
      assert.equal(count(redeemed, (r) => r.kind === 'reused'), CONTENDERS - 1)

      const successor = (i: number) => ({ token_hash: `r-next-${i}`, grant_id: 'g', client_id: 'client-a', created_at: T, expires_at: T + MINUTE })
      const rotated = await race(nodes, (node, i) => node.refreshTokens.rotate('r', successor(i), T))
      assert.equal(count(rotated, (r) => r.kind === 'rotated'), 1)
      assert.equal(count(rotated, (r) => r.kind === 'reused'), CONTENDERS - 1)
      const stored = await Promise.all(rotated.map((_, i) => a.refreshTokens.get(`r-next-${i}`)))
      assert.deepStrictEqual(
        stored.map((token) => token !== undefined),
        rotated.map((r) => r.kind === 'rotated'),
      )

      assert.equal(count(await race(nodes, (node) => node.replay.markUsed('jti', T + MINUTE, T)), (won) => won), 1)
      assert.equal(count(await race(nodes, (node) => node.sessions.remove('h')), (got) => got !== undefined), 1)
      assert.equal(count(await race(nodes, (node) => node.keys.activate('new', T + MINUTE)), (won) => won), 1)
      assert.deepStrictEqual((await a.keys.list()).map((key) => `${key.kid}:${key.state}`).sort(), ['new:active', 'old:retired'])
      assert.equal(count(await race(nodes, (node, i) => node.credentials.updateState('cred', 0, { writer: i })), (won) => won), 1)
      await done()
    })

    it('claimDue on two nodes hands out disjoint batches that cover every due notification', async () => {
      const { nodes, done } = await twoNodes()
      const [a] = nodes as [Store, Store]
      const ids = Array.from({ length: 24 }, (_, i) => `n${String(i).padStart(2, '0')}`)
      await a.outbox.enqueue(
        ids.map((id, i) => ({ id, client_id: 'client-a', backchannel_logout_uri: 'https://a.example/bc', sub: 's', sid: id, created_at: T, attempts: 0, next_attempt_at: T - i })),
      )
      const batches = await race(nodes, (node, i) => node.outbox.claimDue(`node-${i}`, T, MINUTE, 3))
      const claimed = batches.flat().map((n) => n.id)
      assert.equal(new Set(claimed).size, claimed.length, 'a notification was claimed twice')
      assert.equal(claimed.length, Math.min(ids.length, 3 * CONTENDERS))
      for (const [i, batch] of batches.entries()) {
        for (const n of batch) assert.equal((await a.outbox.get(n.id))?.claimed_by, `node-${i}`)
      }
      await done()
    })

    it('revoking a grant while another node rotates its token leaves no usable token', async () => {
      const { nodes, done } = await twoNodes()
      const [a, b] = nodes as [Store, Store]
      for (let round = 0; round < 10; round++) {
        const grantId = `g${round}`
        await a.grants.put({ grant_id: grantId, client_id: 'client-a', sub: 's', sid: 'sid', scope: 'openid', created_at: T, expires_at: T + MINUTE })
        await a.refreshTokens.put({ token_hash: `${grantId}-r1`, grant_id: grantId, client_id: 'client-a', created_at: T, expires_at: T + MINUTE })
        const successor = { token_hash: `${grantId}-r2`, grant_id: grantId, client_id: 'client-a', created_at: T, expires_at: T + MINUTE }
        // Alternate who starts first, so both orders are seen.
        const calls = [() => a.refreshTokens.rotate(`${grantId}-r1`, successor, T + 1), () => b.grants.revoke(grantId, T + 1)]
        if (round % 2 === 1) calls.reverse()
        await Promise.all(calls.map((call) => call()))
        assert.equal(await a.refreshTokens.get(`${grantId}-r1`), undefined)
        assert.equal(await a.refreshTokens.get(`${grantId}-r2`), undefined, `round ${round}: a successor outlived the revocation`)
        assert.equal((await a.grants.get(grantId))?.revoked_at, T + 1)
      }
      await done()
    })
  })

  describe('postgres adapter: outages', () => {
    it('a statement blocked past the statement timeout fails, changing nothing, and the store carries on', { timeout: 30_000 }, async () => {
      const schema = await freshSchema()
      const store = await open(schema, { statementTimeoutMs: 300 })
      await store.grants.put({ grant_id: 'g', client_id: 'client-a', sub: 's', sid: 'sid', scope: 'openid', created_at: T, expires_at: T + MINUTE })
      await store.refreshTokens.put({ token_hash: 'r', grant_id: 'g', client_id: 'client-a', created_at: T, expires_at: T + MINUTE })
      await store.codes.save({ code_hash: 'c', client_id: 'client-a', redirect_uri: 'https://a.example/cb', grant_id: 'g', expires_at: T + MINUTE, payload: {} })

      const locker = await admin.connect()
      try {
        await locker.query('BEGIN')
        await locker.query(`LOCK TABLE ${schema}.codes, ${schema}.refresh_tokens IN ACCESS EXCLUSIVE MODE`)
        await assert.rejects(store.codes.redeem('c', T), { code: '57014' })
        // revoke is a transaction: its UPDATE of the grant ran, then its DELETE timed out.
        await assert.rejects(store.grants.revoke('g', T), { code: '57014' })
        await locker.query('ROLLBACK')
      } finally {
        locker.release()
      }
      assert.equal((await store.grants.get('g'))?.revoked_at, undefined, 'the timed-out revoke was rolled back')
      assert.equal((await store.codes.redeem('c', T)).kind, 'first')
      assert.equal(await store.ping(), true)
      await store.close()
      await dropSchema(schema)
    })

    it('a connection the server ends while a transaction holds it fails that transaction, not the process', { timeout: 30_000 }, async () => {
      const schema = await freshSchema()
      const db = openPool(resolveOptions({ url, schema, poolSize: 1 }))
      try {
        await assert.rejects(
          db.transaction(async (query) => {
            const { rows } = await query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
            // As a fast shutdown or restart does (57P01), while no statement runs on the connection:
            // pg reports it as an 'error' event on the checked-out client, not on a query.
            await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
            await new Promise((resolve) => setTimeout(resolve, 300))
            await query('SELECT 1')
          }),
        )
        // The pool's one connection was discarded and a fresh one serves.
        assert.equal((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1)
      } finally {
        await db.end()
      }
      await dropSchema(schema)
    })

    it('a unit of work blocked past the statement timeout fails whole as StoreUnavailable, and the store carries on', { timeout: 30_000 }, async () => {
      const schema = await freshSchema()
      const store = guardStore(await open(schema, { statementTimeoutMs: 300, poolSize: 1 }))
      const locker = await admin.connect()
      try {
        await locker.query('BEGIN')
        await locker.query(`LOCK TABLE ${schema}.audit_log IN ACCESS EXCLUSIVE MODE`)
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.clients.put(unitClient)
            await tx.audit.append({ at: T, type: 'client.added', actor: 'cli:ra.whitfield', subject: unitClient.client_id })
          }),
          (error: unknown) => error instanceof StoreUnavailable && error.operation === 'audit.append' && (error.cause as { code?: string }).code === '57014',
        )
        await locker.query('ROLLBACK')
      } finally {
        locker.release()
      }
      assert.equal(await store.clients.get(unitClient.client_id), undefined, 'the client was rolled back with the unit')
      assert.deepStrictEqual(await store.audit.recent(5), [])
      // The pool serves the next unit.
      await store.transaction((tx) => tx.clients.put(unitClient))
      assert.equal((await store.clients.get(unitClient.client_id))?.client_id, unitClient.client_id)
      await store.close()
      await dropSchema(schema)
    })

    it('a unit of work whose connection drops fails whole as StoreUnavailable, not the process', { timeout: 30_000 }, async () => {
      const schema = await freshSchema()
      const proxy = await startProxy(url)
      try {
        const store = guardStore(await open(schema, { url: proxy.url, poolSize: 1 }))
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.clients.put(unitClient)
            // As a database restart or a network failure does, while the unit holds its connection.
            proxy.dropAll()
            await new Promise((resolve) => setTimeout(resolve, 100))
            await tx.audit.append({ at: T, type: 'client.added', actor: 'cli:ra.whitfield', subject: unitClient.client_id })
          }),
          (error: unknown) => error instanceof StoreUnavailable && error.operation === 'audit.append',
        )
        // The connection was discarded; a fresh one serves, and nothing of the unit was kept.
        assert.equal(await store.clients.get(unitClient.client_id), undefined)
        assert.deepStrictEqual(await store.audit.recent(5), [])
        await store.close()
      } finally {
        await proxy.close()
      }
      await dropSchema(schema)
    })

    it('a database that stops answering makes calls fail, not hang, and the store recovers', { timeout: 30_000 }, async () => {
      const schema = await freshSchema()
      const proxy = await startProxy(url)
      try {
        const store = await openPostgresStore({ url: proxy.url, schema, statementTimeoutMs: 300, connectionTimeoutMs: 2000, poolSize: 3 })
        assert.equal(await store.replay.markUsed('k', T + MINUTE, T), true)

        proxy.silence(true)
        await assert.rejects(store.replay.has('k', T))
        await assert.rejects(store.replay.markUsed('k2', T + MINUTE, T))
        assert.equal(await store.ping(), false)

        // The network comes back, but the connections that lived through the outage are gone: idle
        // pooled ones error out (which must not crash the process) and the pool opens new ones.
        proxy.silence(false)
        proxy.dropAll()
        let up = false
        for (let attempt = 0; attempt < 50 && !up; attempt++) {
          up = await store.ping()
          if (!up) await new Promise((resolve) => setTimeout(resolve, 100))
        }
        assert.ok(up, 'the store did not recover')
        assert.equal(await store.replay.has('k', T), true)
        assert.equal(await store.replay.has('k2', T), false)
        await store.close()
      } finally {
        await proxy.close()
      }
      await dropSchema(schema)
    })

    it('opening against a server that never answers fails within the connection timeout, without the password', { timeout: 30_000 }, async () => {
      const held = new Set<Socket>()
      const server = createServer((socket) => held.add(socket))
      const port = await listen(server)
      try {
        const silentUrl = `postgres://careid:hunter2-secret@127.0.0.1:${port}/test`
        await assert.rejects(openPostgresStore({ url: silentUrl, connectionTimeoutMs: 300 }), (error: unknown) => {
          assert.ok(error instanceof Error)
          assert.doesNotMatch(`${error.message}\n${error.stack ?? ''}`, /hunter2/)
          return true
        })
        await assert.rejects(migratePostgres(silentUrl, { connectionTimeoutMs: 300 }))
      } finally {
        for (const socket of held) socket.destroy()
        await new Promise((resolve) => server.close(resolve))
      }
    })
  })
}

const unitClient = {
  client_id: '000000000007.apps.national',
  client_name: 'Ward rounds',
  redirect_uris: ['https://ward.example/callback'],
  post_logout_redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic' as const,
  refresh_tokens: false,
  created_at: T,
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
  })
}

/** A TCP relay to the database that the test can silence (a partition) and cut (a restart). */
interface Proxy {
  /** The database URL, through the relay. */
  url: string
  /** While silenced, bytes in both directions are dropped and connections stay open. */
  silence(on: boolean): void
  /** Closes every relayed connection at once. */
  dropAll(): void
  close(): Promise<void>
}

async function startProxy(databaseUrl: string): Promise<Proxy> {
  const target = new URL(databaseUrl)
  const sockets = new Set<Socket>()
  let silent = false
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname)
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from)
      from.on('data', (chunk) => {
        if (!silent) to.write(chunk)
      })
      // Resets are expected: the test cuts connections on purpose.
      from.on('error', () => {})
      from.on('close', () => {
        sockets.delete(from)
        to.destroy()
      })
    }
  })
  const port = await listen(server)
  const relayed = new URL(databaseUrl)
  relayed.hostname = '127.0.0.1'
  relayed.port = String(port)
  return {
    url: relayed.toString(),
    silence(on) {
      silent = on
    },
    dropAll() {
      for (const socket of sockets) socket.destroy()
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
