/**
 * Local services that some test suites need (PostgreSQL, Redis): found running, or started the way
 * the development and CI machines start them. A suite whose service cannot be had is skipped with
 * the reason on a developer's machine, and fails under CI (`CI` set), where a skipped backend would
 * pass silently untested.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { userInfo } from 'node:os'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** A service a suite can use, or why it cannot. */
export type Service = { readonly available: true; readonly url: string } | { readonly available: false; readonly reason: string }

/** How long a started service gets to answer. */
const START_WAIT_MS = 30_000
const POLL_MS = 250
/** One probe's limit, so a wedged service cannot stall the test run. */
const PROBE_TIMEOUT_MS = 2000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** Where a service URL points, without its credentials (reasons are printed). */
function endpoint(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'an unparsable URL'
  }
}

/**
 * Probes until one URL answers or `deadline` passes (a single round when `deadline` is now).
 * Returns the URL that answered, or the last round's failures.
 */
async function firstAnswering(urls: string[], probe: (url: string) => Promise<void>, deadline: number): Promise<{ url: string } | { error: string }> {
  for (;;) {
    const errors: string[] = []
    for (const url of urls) {
      try {
        await probe(url)
        return { url }
      } catch (failure) {
        errors.push(messageOf(failure))
      }
    }
    if (Date.now() >= deadline) return { error: [...new Set(errors)].join('; ') }
    await sleep(POLL_MS)
  }
}

/**
 * Finds the service, starting it once (when `start` is given) if it does not answer. Under CI a
 * service that cannot be had is an error, thrown with the reason.
 */
async function ensure(name: string, urls: string[], probe: (url: string) => Promise<void>, start: (() => Promise<void>) | undefined): Promise<Service> {
  let outcome = await firstAnswering(urls, probe, Date.now())
  let startError = ''
  if ('error' in outcome && start !== undefined) {
    try {
      await start()
      outcome = await firstAnswering(urls, probe, Date.now() + START_WAIT_MS)
    } catch (error) {
      // Not installed here, or it would not start: nothing to wait for.
      startError = `; starting it failed: ${messageOf(error)}`
    }
  }
  if ('url' in outcome) return { available: true, url: outcome.url }
  const reason = `${name} not reachable at ${urls.map(endpoint).join(', ')}: ${outcome.error}${startError}`
  if (process.env['CI'] !== undefined) throw new Error(`${reason} (CI runs every backend's suite, so it must be running)`)
  return { available: false, reason }
}

async function probePostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS, query_timeout: PROBE_TIMEOUT_MS })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function startPostgres(): Promise<void> {
  // Debian's layout: one folder per installed major version.
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : []
  if (versions.length === 0) throw new Error('no PostgreSQL cluster found in /etc/postgresql')
  for (const version of versions) {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { timeout: START_WAIT_MS })
  }
}

let postgres: Promise<Service> | undefined

/**
 * PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`, user `postgres` or the current user),
 * or at `CAREID_TEST_POSTGRES_URL` if set. Started with pg_ctlcluster if it does not answer.
 */
export function ensurePostgres(): Promise<Service> {
  const configured = process.env['CAREID_TEST_POSTGRES_URL']
  // A configured server is someone else's to run; only the local cluster is started here.
  postgres ??=
    configured !== undefined
      ? ensure('PostgreSQL', [configured], probePostgres, undefined)
      : ensure('PostgreSQL', [...new Set(['postgres', userInfo().username])].map((user) => `postgres://${encodeURIComponent(user)}@127.0.0.1:5432/test`), probePostgres, startPostgres)
  return postgres
}

async function probeRedis(url: string): Promise<void> {
  let stdout: string
  try {
    ;({ stdout } = await run('redis-cli', ['-u', url, 'ping'], { timeout: PROBE_TIMEOUT_MS }))
  } catch (error) {
    // The error's own message repeats the command line, URL (and any password) included.
    const { code, stderr } = error as { code?: unknown; stderr?: unknown }
    if (code === 'ENOENT') throw new Error('redis-cli is not installed')
    throw new Error(typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : `redis-cli ping failed (${String(code)})`)
  }
  if (stdout.trim() !== 'PONG') throw new Error(`redis-cli ping answered ${JSON.stringify(stdout.trim())}`)
}

async function startRedis(): Promise<void> {
  await run(
    'redis-server',
    ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no', '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'],
    { timeout: START_WAIT_MS },
  )
}

let redis: Promise<Service> | undefined

/**
 * Redis on 127.0.0.1:6379 (it keeps nothing on disk), or at `CAREID_TEST_REDIS_URL` if set.
 * Started with redis-server if `redis-cli ping` gets no PONG.
 */
export function ensureRedis(): Promise<Service> {
  const configured = process.env['CAREID_TEST_REDIS_URL']
  redis ??=
    configured !== undefined ? ensure('Redis', [configured], probeRedis, undefined) : ensure('Redis', ['redis://127.0.0.1:6379'], probeRedis, startRedis)
  return redis
}
