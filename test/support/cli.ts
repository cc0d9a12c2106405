/**
 * Runs the real `careid` command as a child process, the way a person would from the README: for
 * admin commands (wait for the exit) and for `careid start` (a long-running server, stopped by a
 * signal). The child gets a clean environment: no CAREID_* or PORT from the test runner's shell
 * and no node:test context, so only what a test passes counts.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Store } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const careidBin = 'packages/cli/bin/careid.js'

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('CAREID_') || key === 'PORT' || key.startsWith('NODE_TEST') || key === 'NODE_OPTIONS') continue
    env[key] = value
  }
  return { ...env, ...extra }
}

/** Runs `careid <args>` to completion (killed after `timeoutMs` so a hang fails the test, not the run). */
export function runCareid(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [careidBin, ...args], { cwd: repoRoot, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

export interface StartedCareid {
  child: ChildProcess
  /** Everything printed so far. */
  stdout(): string
  stderr(): string
  /** Sends `signal` and resolves with the exit (SIGKILL after `timeoutMs`, reported as such). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Starts `careid start <args>` and resolves once it says it is running (`ready` appears on stdout),
 * or rejects with what it printed if it exits first or does not get there in `timeoutMs`.
 */
export function startCareidProcess(args: string[], options: { env?: Record<string, string>; ready?: string; timeoutMs?: number } = {}): Promise<StartedCareid> {
  const ready = options.ready ?? 'Careid is running'
  const child = spawn(process.execPath, [careidBin, 'start', ...args], { cwd: repoRoot, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const started: StartedCareid = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const result = await exited
      clearTimeout(timer)
      return result
    },
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`careid start did not report "${ready}" in time\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, options.timeoutMs ?? 30_000)
    const onData = () => {
      if (stdout.includes(ready)) {
        clearTimeout(timer)
        child.stdout.off('data', onData)
        resolve(started)
      }
    }
    child.stdout.on('data', onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`careid start exited (${code ?? signal}) before it was running\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    })
  })
}

/**
 * A working folder for one test file's admin commands, removed when the file ends: `dataDir` (mode
 * 0700) inside it, and `careid` run on that data directory.
 */
export function adminWorkspace(prefix: string): { dir: string; dataDir: string; careid: (...args: string[]) => Promise<CliResult> } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir, { mode: 0o700 })
  after(() => rmSync(dir, { recursive: true, force: true }))
  return { dir, dataDir, careid: (...args) => runCareid([...args, '--data-dir', dataDir], { timeoutMs: 60_000 }) }
}

/** A command that worked: exit code 0, nothing on stderr; returns what it printed. */
export function ok(result: CliResult): string {
  assert.equal(result.code, 0, `exit code 0 expected\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`)
  assert.equal(result.stderr, '')
  return result.stdout
}

/** A usage mistake: exit code 2, one clear message on stderr, no stack trace, nothing on stdout. */
export function refused(result: CliResult, message: RegExp): void {
  assert.equal(result.code, 2, `exit code 2 expected\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`)
  assert.match(result.stderr, /^careid: /)
  assert.match(result.stderr, message)
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
  assert.equal(result.stdout, '')
}

/** The embedded store of `dataDir`, opened only while `read` runs (the commands open it too). */
export async function withStore<R>(dataDir: string, read: (store: Store) => Promise<R>): Promise<R> {
  const store = await openSqliteStore({ path: join(dataDir, 'careid.db') })
  try {
    return await read(store)
  } finally {
    await store.close()
  }
}
