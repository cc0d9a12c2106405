/** The figures of a benchmark as the tables print them: one row per server, a ratio row under each pair. */
import type { Measurement } from './load.ts'

export const mb = (bytes: number) => (Number.isNaN(bytes) ? '?' : String(Math.round(bytes / 1048576)))
export const rate = (r: number) => (r >= 100 ? String(Math.round(r)) : r.toFixed(1))
export const ms = (x: number) => (Number.isNaN(x) ? '?' : x >= 100 ? String(Math.round(x)) : x.toFixed(1))
export const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '?')

/** Work per CPU-second of the server: what it would do with a whole core to itself. */
export const perCpu = (m: Measurement) => m.count / m.serverCpuSeconds
/** Past this share of its core the load generator, not the server, may be what limits the rate. */
export const generatorBusy = 0.9

const widths = [22, 17, 10, 8, 10, 12, 12, 9]
export const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' ')
export const heading = (server: string) => [line(['benchmark', server, 'rate/s', 'p99 ms', 'cores', 'per core-s', 'RSS MB', 'gen cores']), '-'.repeat(widths.reduce((a, b) => a + b + 1, -1))]

export function side(m: Measurement): string[] {
  const gen = m.generatorCpuSeconds / m.seconds
  return [
    rate(m.rate),
    ms(m.p99Ms),
    (m.serverCpuSeconds / m.seconds).toFixed(2),
    rate(perCpu(m)),
    `${mb(m.rssBefore)}→${mb(m.rssPeak)}`,
    `${gen.toFixed(2)}${gen > generatorBusy ? ' *' : ''}`,
  ]
}

/** `m` over `base`: rate, p99 and work per core-second. */
export function ratio(m: Measurement, base: Measurement): string[] {
  return ['ratio', times(m.rate / base.rate), times(m.p99Ms / base.p99Ms), '', times(perCpu(m) / perCpu(base)), '', '']
}
