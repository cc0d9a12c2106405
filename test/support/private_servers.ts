/**
 * Private PostgreSQL and Redis servers for tests that must stop or restart them: each on a free
 * port with its data in a temporary directory, so the machine's shared servers are never touched.
 * Binaries that are not installed make the test skip with the reason, or fail under CI (`CI` set),
 * as packages/store/test/support/services.ts does for the shared servers.
 *
 * PostgreSQL refuses to run as root: when the test runs as root, the cluster belongs to the
 * `postgres` OS user and every server command is run through `runuser -u postgres`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './careid.ts'

const run = promisify(execFile)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** How long a server gets to start or stop on a busy machine. */
const serverWaitMs = 60_000

export interface PrivateServer {
  url: string
  port: number
  /** Stops the server: a clean, fast shutdown (connections dropped, data kept). */
  stop(): Promise<void>
  /** Starts a stopped server again on the same port and data. */
  start(): Promise<void>
  /** Stops the server, leaves it down for `downMs`, and starts it again. */
  restart(downMs?: number): Promise<void>
  /** Stops the server and deletes its data; safe to call twice. */
  discard(): Promise<void>
}

/** The newest installed PostgreSQL's bin directory (Debian's layout), if any. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin')
}

async function onPath(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`])
    return true
  } catch {
    return false
  }
}

/**
 * Why private servers cannot be had here, or undefined if they can. Under CI a missing binary is
 * an error: a skipped suite there would pass untested.
 */
export async function privateServersMissing(): Promise<string | undefined> {
  const missing: string[] = []
  if (postgresBin() === undefined) missing.push('PostgreSQL (initdb, pg_ctl in /usr/lib/postgresql/*/bin)')
  if (!(await onPath('redis-server'))) missing.push('redis-server')
  if (!(await onPath('redis-cli'))) missing.push('redis-cli')
  if (userInfo().uid === 0 && !(await onPath('runuser'))) missing.push('runuser (to run PostgreSQL as the postgres user)')
  if (missing.length === 0) return undefined
  const reason = `private test servers need ${missing.join(', ')}, not installed here`
  if (process.env['CI'] !== undefined) throw new Error(`${reason} (CI must run this suite)`)
  return reason
}

/** A PostgreSQL cluster of its own: trust auth on 127.0.0.1 (and a socket in its directory), database `postgres`. */
export async function startPrivatePostgres(): Promise<PrivateServer> {
  const bin = postgresBin()
  if (bin === undefined) throw new Error('PostgreSQL is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'careid-pg-'))
  const data = join(dir, 'data')
  const asRoot = userInfo().uid === 0
  if (asRoot) {
    const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim())
    chownSync(dir, await id('-u'), await id('-g'))
  }
  const server = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { timeout: serverWaitMs }) : run(join(bin, tool), args, { timeout: serverWaitMs })
  const port = await freePort()
  // fsync off: the data is thrown away, and every restart here is a clean (fast) shutdown.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`
  const start = () => server('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start'])
  try {
    await server('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'])
    await start()
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  let discarded = false
  const stop = async () => {
    await server('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'])
  }
  return {
    url,
    port,
    stop,
    async start() {
      await start()
    },
    async restart(downMs = 0) {
      await stop()
      await sleep(downMs)
      await start()
    },
    async discard() {
      if (discarded) return
      discarded = true
      await server('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']).catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Asks until the server answers PING (or `serverWaitMs` passes). */
async function waitForRedis(port: number): Promise<void> {
  const deadline = Date.now() + serverWaitMs
  for (;;) {
    try {
      const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { timeout: 2000 })
      if (stdout.trim() === 'PONG') return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`private Redis on port ${port} did not answer within ${serverWaitMs} ms`)
    await sleep(100)
  }
}

/**
 * A Redis of its own, configured as the README tells operators: AOF on and fsynced at every write
 * (so a restart keeps sessions and single-use markers), no RDB snapshots, `noeviction`.
 */
export async function startPrivateRedis(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'careid-redis-'))
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction', '--logfile', join(dir, 'server.log')]
  let child: ChildProcess | undefined
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' })
    // A server that cannot be spawned shows as one that never answers (waitForRedis says so).
    child.on('error', () => {})
    await waitForRedis(port)
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    // SIGTERM is SHUTDOWN: the AOF is flushed and fsynced before the server exits.
    running.kill('SIGTERM')
    const timer = setTimeout(() => running.kill('SIGKILL'), serverWaitMs)
    await exited
    clearTimeout(timer)
  }
  try {
    await launch()
  } catch (error) {
    await stop()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  let discarded = false
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start: launch,
    async restart(downMs = 0) {
      await stop()
      await sleep(downMs)
      await launch()
    },
    async discard() {
      if (discarded) return
      discarded = true
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
