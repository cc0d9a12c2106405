/**
 * `careid migrate` as an operator runs it before starting nodes: against a fresh database it reaches
 * the latest schema version and says so; run again it changes nothing; without a database URL it
 * explains that the embedded store migrates itself; an unreachable database is a clear error that
 * never shows the password in the URL.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import pg from 'pg'
import { latestPostgresSchemaVersion, postgresMigrations } from '@careid/store/postgres'
import { ensurePostgres } from '../../packages/store/test/support/services.ts'
import { freePort } from '../support/careid.ts'
import { careidBin, cliEnv, repoRoot } from '../support/cli.ts'

const execute = promisify(execFile)

interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs `careid <args>` with only `env` naming a database (none from the test runner's shell). */
async function careid(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const base = cliEnv()
  delete base.DATABASE_URL
  delete base.REDIS_URL
  try {
    const { stdout, stderr } = await execute(process.execPath, [careidBin, ...args], { cwd: repoRoot, env: { ...base, ...env }, timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: unknown; stdout?: string; stderr?: string }
    if (typeof code !== 'number') throw error
    return { code, stdout: stdout ?? '', stderr: stderr ?? '' }
  }
}

const latest = new RegExp(`^The database schema is at version ${latestPostgresSchemaVersion}, the latest\\.\\n$`)

describe('careid migrate', () => {
  it('without a database URL says the embedded store migrates itself', async () => {
    const result = await careid(['migrate'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /embedded store, which migrates itself/)
    assert.equal(result.stderr, '')
  })

  it('reports an unreachable database without showing its password', async () => {
    const url = `postgres://careid:not-for-logs@127.0.0.1:${await freePort()}/careid`
    const result = await careid(['migrate', '--database-url', url])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^careid: cannot migrate the database: /)
    assert.doesNotMatch(result.stderr, /not-for-logs/)
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  })
})

const postgres = await ensurePostgres()
if (!postgres.available) {
  it('careid migrate on PostgreSQL', { skip: postgres.reason }, () => {})
} else {
  const serverUrl = postgres.url
  describe('careid migrate on PostgreSQL', () => {
    const database = `careid_test_${randomBytes(6).toString('hex')}`
    const url = new URL(serverUrl)
    url.pathname = `/${database}`
    const admin = new pg.Client({ connectionString: serverUrl })
    admin.on('error', () => {})

    before(async () => {
      await admin.connect()
      await admin.query(`CREATE DATABASE ${database}`)
    })
    after(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      await admin.end()
    })

    /** The ledger of applied migrations (in `schema`, or the default one). */
    async function ledger(schema?: string): Promise<{ version: number; applied_at: string }[]> {
      const client = new pg.Client({ connectionString: url.href })
      client.on('error', () => {})
      await client.connect()
      try {
        const table = schema === undefined ? 'careid_schema_migrations' : `${schema}.careid_schema_migrations`
        return (await client.query<{ version: number; applied_at: string }>(`SELECT version, applied_at FROM ${table} ORDER BY version`)).rows
      } finally {
        await client.end()
      }
    }

    it('brings a fresh database to the latest version, and a second run changes nothing', async () => {
      const first = await careid(['migrate', '--database-url', url.href])
      assert.equal(first.code, 0, first.stderr)
      assert.match(first.stdout, latest)
      const applied = await ledger()
      assert.deepEqual(
        applied.map((row) => row.version),
        postgresMigrations.map((m) => m.version),
      )

      const second = await careid(['migrate'], { DATABASE_URL: url.href })
      assert.equal(second.code, 0, second.stderr)
      assert.match(second.stdout, latest)
      assert.deepEqual(await ledger(), applied, 'nothing applied again')
    })

    it('migrates the schema CAREID_DATABASE_SCHEMA names, creating it', async () => {
      const schema = 'careid_tenant_a'
      const result = await careid(['migrate'], { DATABASE_URL: url.href, CAREID_DATABASE_SCHEMA: schema })
      assert.equal(result.code, 0, result.stderr)
      assert.match(result.stdout, latest)
      assert.equal((await ledger(schema)).length, postgresMigrations.length)
    })
  })
}
