import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import Database from 'libsql'
import { runStoreConformance } from '../../src/conformance/index.ts'
import { latestSchemaVersion, openSqliteStore, sqliteMigrations } from '../../src/sqlite/index.ts'

const root = fileURLToPath(new URL('../../../..', import.meta.url))
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'careid-store-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
/** A fresh database path in this run's temporary directory. */
function freshPath(): string {
  return join(dir, `store-${++files}.db`)
}

function removeDatabase(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
}

runStoreConformance('sqlite file', async () => {
  const path = freshPath()
  const store = await openSqliteStore({ path })
  return {
    store,
    async cleanup() {
      await store.close()
      removeDatabase(path)
    },
  }
})

runStoreConformance('sqlite :memory:', async () => {
  const store = await openSqliteStore({ path: ':memory:' })
  return { store, cleanup: () => store.close() }
})

/** Reads a closed store's file directly, bypassing the adapter. */
function withRaw<R>(path: string, read: (db: Database.Database) => R): R {
  const db = new Database(path)
  try {
    return read(db)
  } finally {
    db.close()
  }
}

interface MigrationRow {
  version: number
  applied_at: number
}

function appliedMigrations(path: string): MigrationRow[] {
  return withRaw(path, (db) =>
    (db.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all() as MigrationRow[]).map((row) => ({
      version: row.version,
      applied_at: row.applied_at,
    })),
  )
}

describe('sqlite adapter', () => {
  it('migrates an empty database to the latest version, in WAL mode', async () => {
    const path = freshPath()
    const before = Date.now()
    const store = await openSqliteStore({ path })
    assert.equal(await store.ping(), true)
    await store.close()
    const applied = appliedMigrations(path)
    assert.deepStrictEqual(
      applied.map((row) => row.version),
      sqliteMigrations.map((migration) => migration.version),
    )
    assert.equal(applied.at(-1)?.version, latestSchemaVersion)
    for (const row of applied) assert.ok(row.applied_at >= before && row.applied_at <= Date.now())
    const mode = withRaw(path, (db) => (db.prepare('PRAGMA journal_mode').all() as { journal_mode: string }[])[0]?.journal_mode)
    assert.equal(mode, 'wal')
  })

  it('migration versions strictly increase from 1', () => {
    // Versions are assigned ahead of release, so one may be taken before an earlier one lands: the
    // list only has to climb.
    const versions = sqliteMigrations.map((migration) => migration.version)
    assert.equal(versions[0], 1)
    for (let i = 1; i < versions.length; i++) assert.ok((versions[i] as number) > (versions[i - 1] as number), `version ${versions[i]} after ${versions[i - 1]}`)
  })

  it('reopening applies nothing again and keeps the data', async () => {
    const path = freshPath()
    const first = await openSqliteStore({ path })
    const client = {
      client_id: 'a',
      client_name: 'A',
      redirect_uris: ['https://a.example/cb'],
      post_logout_redirect_uris: [],
      token_endpoint_auth_method: 'none' as const,
      refresh_tokens: true,
      created_at: 1,
    }
    await first.clients.put(client)
    await first.replay.markUsed('jti', 100, 0)
    await first.close()
    const applied = appliedMigrations(path)

    const second = await openSqliteStore({ path })
    assert.equal(await second.ping(), true)
    assert.deepStrictEqual(await second.clients.get('a'), client)
    assert.equal(await second.replay.markUsed('jti', 100, 50), false)
    await second.close()
    assert.deepStrictEqual(appliedMigrations(path), applied)
  })

  it('refuses a database migrated by a newer Careid', async () => {
    const path = freshPath()
    await (await openSqliteStore({ path })).close()
    withRaw(path, (db) => db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(latestSchemaVersion + 1, 0))
    await assert.rejects(openSqliteStore({ path }), /newer/)
  })

  it('ping is false when the database is no longer at the latest version', async () => {
    const path = freshPath()
    const store = await openSqliteStore({ path })
    withRaw(path, (db) => db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(latestSchemaVersion))
    assert.equal(await store.ping(), false)
    await store.close()
  })

  it('removeExpired deletes the rate counter rows of windows that have ended, and only those', async () => {
    const path = freshPath()
    const store = await openSqliteStore({ path })
    const minute = 60_000
    await store.rates.hit('ended', minute, 0)
    await store.rates.hit('ended', minute, minute)
    await store.rates.hit('live', minute, minute)
    assert.equal(await store.rates.removeExpired(minute), 1)
    await store.close()
    const rows = withRaw(path, (db) => db.prepare('SELECT key, window_end, hits FROM rate_counters ORDER BY key').all())
    assert.deepStrictEqual(
      rows.map((row) => ({ ...(row as object) })),
      [
        { key: 'ended', window_end: 2 * minute, hits: 1 },
        { key: 'live', window_end: 2 * minute, hits: 1 },
      ],
    )
  })

  it('each :memory: store is private', async () => {
    const a = await openSqliteStore({ path: ':memory:' })
    const b = await openSqliteStore({ path: ':memory:' })
    await a.replay.markUsed('k', 10, 0)
    assert.equal(await b.replay.has('k', 0), false)
    await a.close()
    await b.close()
  })
})

const children = new Set<ChildProcessWithoutNullStreams>()
// A failed assertion must not leave a looping writer holding the test process open.
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

/** A fixture script run as its own process, with its stdout as lines. */
function startFixture(script: string, args: string[]): { child: ChildProcessWithoutNullStreams; lines: AsyncIterator<string>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(fixtures, script), ...args], { cwd: root })
  children.add(child)
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  return { child, lines, stderr: () => stderr }
}

async function nextLine(fixture: ReturnType<typeof startFixture>): Promise<string> {
  const line = await fixture.lines.next()
  if (line.done === true) throw new Error(`fixture ended early: ${fixture.stderr()}`)
  return line.value
}

function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

describe('sqlite adapter across processes', () => {
  it('single use holds between processes racing on one file', async () => {
    const path = freshPath()
    const now = 1_700_000_000_000
    const setup = await openSqliteStore({ path })
    await setup.codes.save({ code_hash: 'race-code', client_id: 'client-a', redirect_uri: 'https://a.example/cb', grant_id: 'g', expires_at: now + 60_000, payload: {} })
    await setup.grants.put({ grant_id: 'race-grant', client_id: 'client-a', sub: 's', sid: 'sid', scope: 'openid', created_at: now, expires_at: now + 60_000 })
    await setup.refreshTokens.put({ token_hash: 'race-token', grant_id: 'race-grant', client_id: 'client-a', created_at: now, expires_at: now + 60_000 })
    const contenders = Array.from({ length: 4 }, (_, i) => `contender-${i}`)
    const ids = Array.from({ length: 2 * contenders.length }, (_, i) => `n${i}`)
    await setup.outbox.enqueue(ids.map((id) => ({ id, client_id: 'client-a', backchannel_logout_uri: 'https://a.example/bc', sub: 's', sid: id, created_at: now, attempts: 0, next_attempt_at: now })))
    await setup.sessions.create({ session_hash: 'race-session', sid: 'race-sid', sub: 's', amr: ['PWD'], aal: 1, auth_time: now, created_at: now, last_seen_at: now, expires_at: now + 60_000, idle_expires_at: now + 60_000, clients: [] })
    await setup.keys.put({ kid: 'race-key', alg: 'RS256', public_jwk: {}, private_jwk_encrypted: 'x', state: 'next', created_at: now, activate_at: now })
    await setup.close()

    const running = contenders.map((name) => startFixture('race.ts', [path, name]))
    for (const fixture of running) assert.equal(await nextLine(fixture), 'ready')
    for (const fixture of running) fixture.child.stdin.end('go\n')
    const results = await Promise.all(
      running.map(async (fixture) => {
        const line = await nextLine(fixture)
        assert.deepStrictEqual(await exited(fixture.child), { code: 0, signal: null })
        return JSON.parse(line) as { redeem: string; rotate: string; markUsed: boolean; claimed: string[]; removed: boolean; activated: boolean }
      }),
    )

    const count = (pick: (r: (typeof results)[number]) => boolean) => results.filter(pick).length
    assert.equal(count((r) => r.redeem === 'first'), 1)
    assert.equal(count((r) => r.redeem === 'reused'), contenders.length - 1)
    assert.equal(count((r) => r.rotate === 'rotated'), 1)
    assert.equal(count((r) => r.rotate === 'reused'), contenders.length - 1)
    assert.equal(count((r) => r.markUsed), 1)
    assert.equal(count((r) => r.removed), 1)
    assert.equal(count((r) => r.activated), 1)
    assert.deepStrictEqual(results.flatMap((r) => r.claimed).sort(), [...ids].sort())

    const check = await openSqliteStore({ path })
    const successors = await Promise.all(contenders.map((name) => check.refreshTokens.get(`race-successor-${name}`)))
    assert.equal(successors.filter((s) => s !== undefined).length, 1)
    await check.close()
  })

  it('a writer killed mid-transaction leaves a consistent, usable database', async () => {
    const path = freshPath()
    for (let round = 0; round < 2; round++) {
      const workers = [0, 1].map((w) => startFixture('crash_writer.ts', [path, `r${round}w${w}`]))
      for (const worker of workers) assert.equal(await nextLine(worker), 'ready')
      // Let both get well into their loops (past the first progress report) before the kill.
      for (const worker of workers) assert.match(await nextLine(worker), /^progress/)
      await new Promise((resolve) => setTimeout(resolve, 50 + round * 100))
      for (const worker of workers) {
        assert.equal(worker.child.exitCode, null, `writer stopped by itself: ${worker.stderr()}`)
        worker.child.kill('SIGKILL')
      }
      for (const worker of workers) assert.deepStrictEqual(await exited(worker.child), { code: null, signal: 'SIGKILL' })

      // Opening recovers from the WAL as any restart would.
      const store = await openSqliteStore({ path })
      assert.equal(await store.ping(), true)
      await store.replay.markUsed(`after-crash-${round}`, 10, 0)
      await store.close()
      withRaw(path, (db) => checkInvariants(db))
    }
  })
})

/** What the crash writer's calls promise, whatever instant it was killed at. */
function checkInvariants(db: Database.Database): void {
  assert.deepStrictEqual(db.prepare('PRAGMA integrity_check').all(), [{ integrity_check: 'ok' }])
  assert.deepStrictEqual(db.prepare('PRAGMA foreign_key_check').all(), [])

  const tokens = db.prepare('SELECT token_hash, grant_id, rotated_at FROM refresh_tokens').all() as { token_hash: string; grant_id: string; rotated_at: number | null }[]
  assert.ok(tokens.length > 0)
  const hashes = new Set(tokens.map((t) => t.token_hash))
  const unrotated = new Map<string, number>()
  for (const token of tokens) {
    const link = Number(token.token_hash.slice(token.grant_id.length + 1))
    if (token.rotated_at === null) unrotated.set(token.grant_id, (unrotated.get(token.grant_id) ?? 0) + 1)
    // rotate() marks and stores the successor together, or does neither.
    else assert.ok(hashes.has(`${token.grant_id}:${link + 1}`), `${token.token_hash} was rotated but has no successor`)
  }
  for (const [grant, count] of unrotated) assert.equal(count, 1, `grant ${grant} has ${count} live tokens`)

  // revoke() marks the grant and deletes its tokens together.
  const revokedWithTokens = db.prepare('SELECT count(*) AS n FROM grants g JOIN refresh_tokens t ON t.grant_id = g.grant_id WHERE g.revoked_at IS NOT NULL').all()
  assert.deepStrictEqual(revokedWithTokens, [{ n: 0 }])

  // enqueue() writes the whole batch (one per client of the session) or none of it.
  const partial = db.prepare('SELECT sid, count(*) AS n FROM logout_outbox GROUP BY sid HAVING n <> 3').all()
  assert.deepStrictEqual(partial, [])
  const torn = db.prepare(`
    SELECT count(*) AS n FROM logout_outbox
    WHERE (claimed_by IS NULL) <> (claim_expires_at IS NULL) OR (delivered_at IS NOT NULL AND claimed_by IS NOT NULL)`).all()
  assert.deepStrictEqual(torn, [{ n: 0 }])

  // Each session is created whole; addClient never leaves malformed JSON.
  const sessions = db.prepare('SELECT clients FROM sessions').all() as { clients: string }[]
  for (const session of sessions) assert.ok(Array.isArray(JSON.parse(session.clients)))
}
