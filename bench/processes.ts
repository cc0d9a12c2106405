/**
 * The processes of a benchmark run: servers in child processes pinned to one core, the load
 * generator pinned to another, and the resident memory of a server read from /proc.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundle, distDir } from '../scripts/build.js'
import { readyMarker } from './target.ts'

/** The core servers run on; the load generator takes the other one (which a second node shares). */
export const serverCore = 0
export const generatorCore = 1

/** Pins every thread of this process (V8's workers, tsx's loader) to the generator's core. */
export function pinSelf(): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(generatorCore), String(process.pid)], { stdio: 'ignore' })
}

export interface ServerProcess<T> {
  /** The node process itself: taskset execs node, so it keeps taskset's pid. */
  pid: number
  ready: T
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

const compiled = new Map<string, Promise<string>>()

/**
 * `script` (a .ts file in bench/) compiled to JavaScript as `careid` itself is (scripts/build.js),
 * so that no server under test carries a TypeScript loader: its memory and start-up are the
 * server's own. Built once per run, into dist/bench/ (where node_modules resolve as from the sources).
 */
function compile(script: string): Promise<string> {
  let out = compiled.get(script)
  if (out === undefined) {
    const name = basename(script, '.ts')
    const dir = join(distDir, 'bench')
    out = bundle({ [name]: fileURLToPath(new URL(script, import.meta.url)) }, dir).then(() => join(dir, `${name}.js`))
    compiled.set(script, out)
  }
  return out
}

export interface StartServerOptions {
  nodeArgs?: string[]
  /** The server core unless told. */
  core?: number
  /**
   * Run the TypeScript sources through tsx instead of the compiled script: for the profiler, whose
   * samples then name Careid's source files (the loader's own thread is left out of its summary).
   */
  fromSources?: boolean
  timeoutMs?: number
}

/**
 * Starts `script` (a .ts file in bench/), compiled, pinned to a core, and waits for its ready line.
 * Anything else it prints is kept (the last lines) only to explain a failure.
 */
export async function startServer<T>(script: string, env: Record<string, string>, options: StartServerOptions = {}): Promise<ServerProcess<T>> {
  const { nodeArgs = [], core = serverCore, fromSources = false, timeoutMs = 90_000 } = options
  const run = fromSources ? ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))] : [await compile(script)]
  const child: ChildProcess = spawn('taskset', ['-c', String(core), process.execPath, ...nodeArgs, ...run], {
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const tail: string[] = []
  const keep = (line: string) => {
    tail.push(line)
    if (tail.length > 20) tail.shift()
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${tail.join('\n')}`)), timeoutMs)
    let buffered = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let newline = buffered.indexOf('\n')
      while (newline >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (line.startsWith(readyMarker)) {
          clearTimeout(timer)
          resolve(JSON.parse(line.slice(readyMarker.length)) as T)
        } else keep(line)
        newline = buffered.indexOf('\n')
      }
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => chunk.split('\n').forEach(keep))
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready:\n${tail.join('\n')}`))
    })
  })
  const pid = child.pid as number
  return {
    pid,
    ready,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(killer)
    },
  }
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/**
 * CPU time (user + system, every thread) a server's processes (one per node) have used, in seconds.
 * On a shared machine a server gets whatever share of its core the scheduler leaves it, so work per
 * CPU-second is the steadier measure of its cost; NaN once a process is gone.
 */
export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSecondsOfOne(pid), 0)
}

function cpuSecondsOfOne(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return Number.NaN
  }
}

/** CPU time this process (the load generator) has used, in seconds. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/** Resident set size of a server's processes (one per node) in bytes (VmRSS, summed), or NaN once one is gone. */
export function rssOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + rssOfOne(pid), 0)
}

function rssOfOne(pid: number): number {
  try {
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kib === undefined ? Number.NaN : Number(kib) * 1024
  } catch {
    return Number.NaN
  }
}

/** Samples a server's RSS every `everyMs` until stopped; `stop` returns the highest seen. */
export function watchRss(pids: readonly number[], everyMs = 200): { stop(): number } {
  let peak = Number.NaN
  const sample = () => {
    const now = rssOf(pids)
    // A NaN reading (the process gone) is skipped; the first real one starts the peak.
    if (!Number.isNaN(now) && !(now <= peak)) peak = now
  }
  sample()
  const timer = setInterval(sample, everyMs)
  return {
    stop() {
      clearInterval(timer)
      sample()
      return peak
    },
  }
}
