/**
 * Load: autocannon for single requests (a fixed number of connections), and a small loop of
 * concurrent journeys (fetch with keep-alive) for multi-step flows. Both measure only a timed
 * window after a warm-up, keep every 2xx latency (autocannon's own histogram rounds to whole
 * milliseconds, too coarse for a p99 of a few ms), and watch the server's RSS while they run.
 * Every loop is bounded in time and in count.
 */
import { performance } from 'node:perf_hooks'
import autocannon, { type Options, type Result } from 'autocannon'
import { cpuSecondsOf, ownCpuSeconds, rssOf, watchRss } from './processes.ts'

export interface Measurement {
  /** Successful requests (or journeys) per second in the timed window. */
  rate: number
  p99Ms: number
  count: number
  errors: number
  firstError?: string | undefined
  seconds: number
  /** Server RSS (bytes, all its nodes) just before this benchmark's warm-up, and the highest seen during it. */
  rssBefore: number
  rssPeak: number
  /** CPU seconds the server (all its nodes and threads) and the load generator used in the timed window. */
  serverCpuSeconds: number
  generatorCpuSeconds: number
  /** When the timed window began and ended (monotonic microseconds, as CPU profiles stamp samples). */
  window: { fromUs: number; toUs: number }
}

interface CpuMark {
  server: number
  generator: number
}

/** CPU seconds of the server and of this process, read together at the edges of a timed window. */
function cpuMark(pids: readonly number[]): CpuMark {
  return { server: cpuSecondsOf(pids), generator: ownCpuSeconds() }
}

/** The monotonic clock in microseconds: the clock V8 stamps CPU profile samples with. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n)

/** The value at `q` (0..1) of a list of latencies, nearest rank. */
function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

interface Run {
  result: Result
  /**
   * From the start to the last response, in seconds. autocannon's own `duration` ends at the first
   * of its one-second ticks after the last response, which for a run bounded by count rounds the
   * time up by as much as a second (a pool of codes redeemed in 5.1 s would read as 6.0 s).
   */
  seconds: number
}

function run(options: Options, maxSeconds: number, latencies?: number[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const startedMs = performance.now()
    let lastResponseMs = startedMs
    const instance = autocannon({ timeout: 10, pipelining: 1, ...options }, (error, result) => {
      clearTimeout(guard)
      if (error === null) resolve({ result, seconds: (lastResponseMs - startedMs) / 1000 })
      else reject(error)
    })
    // An amount-bounded run stops by count; this bounds it in time as well.
    const guard = setTimeout(() => instance.stop(), maxSeconds * 1000)
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      lastResponseMs = performance.now()
      if (latencies !== undefined && status >= 200 && status < 300) latencies.push(ms)
    })
  })
}

function describeFailures(result: Result): string | undefined {
  const statuses = Object.entries(result.statusCodeStats).filter(([status]) => !status.startsWith('2'))
  if (statuses.length === 0 && result.errors === 0 && result.timeouts === 0) return undefined
  return [...statuses.map(([status, { count }]) => `${count}× HTTP ${status}`), `${result.errors} errors`, `${result.timeouts} timeouts`].join(', ')
}

export interface CannonOptions {
  /** Several (one per node): autocannon spreads the connections over them in turn. */
  urls: string[]
  connections: number
  method?: string
  headers?: Record<string, string>
  /**
   * What changes per request, merged into the fixed method, URL and headers: a body (a code that
   * may be redeemed once), a path (the next patient), headers (a fresh request id).
   */
  nextRequest?: () => { body?: string; path?: string; headers?: Record<string, string> }
  warmupSeconds: number
  /** Either a duration, or an amount of requests bounded by `maxSeconds`. */
  durationSeconds?: number
  amount?: number
  maxSeconds?: number
}

export async function cannon(pids: readonly number[], options: CannonOptions): Promise<Measurement> {
  const { nextRequest } = options
  const base: Options = {
    url: options.urls,
    connections: options.connections,
    method: options.method ?? 'GET',
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...(nextRequest === undefined
      ? {}
      : {
          requests: [
            {
              setupRequest: (request) => {
                const next = nextRequest()
                return { ...request, ...next, headers: { ...request.headers, ...next.headers } }
              },
            },
          ],
        }),
  }
  const rssBefore = rssOf(pids)
  const rss = watchRss(pids)
  if (options.warmupSeconds > 0) await run({ ...base, duration: options.warmupSeconds }, options.warmupSeconds + 5)
  const latencies: number[] = []
  const timed = options.amount === undefined ? { duration: options.durationSeconds ?? 6 } : { amount: options.amount }
  const maxSeconds = options.maxSeconds ?? (options.durationSeconds ?? 6) + 5
  const fromUs = monotonicUs()
  const cpuFrom = cpuMark(pids)
  const { result, seconds } = await run({ ...base, ...timed }, maxSeconds, latencies)
  const cpuTo = cpuMark(pids)
  const toUs = monotonicUs()
  const rssPeak = rss.stop()
  return {
    rate: result['2xx'] / seconds,
    p99Ms: percentile(latencies, 0.99),
    count: result['2xx'],
    errors: result.non2xx + result.errors + result.timeouts,
    firstError: describeFailures(result),
    seconds,
    rssBefore,
    rssPeak,
    serverCpuSeconds: cpuTo.server - cpuFrom.server,
    generatorCpuSeconds: cpuTo.generator - cpuFrom.generator,
    window: { fromUs, toUs },
  }
}

export interface JourneyOptions {
  concurrency: number
  warmupSeconds: number
  durationSeconds: number
  /** One whole journey by worker `worker` (0..concurrency-1); throws on anything unexpected. */
  journey(worker: number): Promise<void>
}

/** Journeys that finish inside the timed window are counted; each worker stops after it, or after this many. */
const maxJourneysPerWorker = 100_000
/** Past this many failures the run stops early: the numbers would mean nothing. */
const maxErrors = 50

export async function journeys(pids: readonly number[], options: JourneyOptions): Promise<Measurement> {
  const rssBefore = rssOf(pids)
  const rss = watchRss(pids)
  const from = performance.now() + options.warmupSeconds * 1000
  const to = from + options.durationSeconds * 1000
  const fromUs = monotonicUs() + options.warmupSeconds * 1e6
  const latencies: number[] = []
  let errors = 0
  let firstError: string | undefined
  let cpuFrom = cpuMark(pids)
  let cpuTo: CpuMark | undefined
  const marks = [
    setTimeout(() => (cpuFrom = cpuMark(pids)), options.warmupSeconds * 1000),
    setTimeout(() => (cpuTo = cpuMark(pids)), (options.warmupSeconds + options.durationSeconds) * 1000),
  ]
  const worker = async (index: number) => {
    for (let n = 0; n < maxJourneysPerWorker && errors < maxErrors && performance.now() < to; n++) {
      const start = performance.now()
      try {
        await options.journey(index)
        const end = performance.now()
        if (end >= from && end <= to) latencies.push(end - start)
      } catch (error) {
        errors++
        firstError ??= error instanceof Error ? error.message : String(error)
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)))
  // Stopped early (too many failures): the window ends here.
  marks.forEach(clearTimeout)
  cpuTo ??= cpuMark(pids)
  const rssPeak = rss.stop()
  return {
    rate: latencies.length / options.durationSeconds,
    p99Ms: percentile(latencies, 0.99),
    count: latencies.length,
    errors,
    firstError,
    seconds: options.durationSeconds,
    rssBefore,
    rssPeak,
    serverCpuSeconds: cpuTo.server - cpuFrom.server,
    generatorCpuSeconds: cpuTo.generator - cpuFrom.generator,
    window: { fromUs, toUs: fromUs + options.durationSeconds * 1e6 },
  }
}

/** The measurement of the round with the median rate (the lower middle one of an even count). */
export function medianRound(taken: Measurement[]): Measurement {
  const sorted = [...taken].sort((a, b) => a.rate - b.rate)
  return sorted[Math.floor((sorted.length - 1) / 2)] as Measurement
}

/** Runs `task` on `concurrency` workers until `count` results are in or `maxSeconds` pass. */
export async function collect<T>(count: number, concurrency: number, maxSeconds: number, task: (worker: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  const deadline = performance.now() + maxSeconds * 1000
  let started = 0
  let failures = 0
  let lastError: unknown
  const worker = async (index: number) => {
    while (started < count && performance.now() < deadline && failures < maxErrors) {
      started++
      try {
        results.push(await task(index))
      } catch (error) {
        failures++
        lastError = error
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)))
  if (failures > 0) throw new Error(`${failures} of ${started} failed; last: ${lastError instanceof Error ? lastError.message : String(lastError)}`)
  return results
}
