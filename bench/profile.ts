/**
 * Reading a V8 CPU profile (`node --cpu-prof`) taken in a server child: where its time went during
 * the load only (samples outside the load's window, such as start-up and tsx compiling, are left
 * out), by function (self and inclusive) and by area (Careid package, dependency, Node).
 *
 * Samples are counted, not weighed by the time since the previous one: on a shared core the
 * server is descheduled now and then, and weighing by time would charge each such gap to whatever
 * function happened to be running when it began.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  /** Microseconds on the monotonic clock (the one process.hrtime reads). */
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface HotSpot {
  function: string
  where: string
  /** Of the busy (non-idle) samples in the window. */
  share: number
}

export interface ProfileSummary {
  windowMs: number
  /** Busy samples over all samples in the window. */
  busy: number
  byArea: { area: string; share: number }[]
  bySelf: HotSpot[]
  /** Careid's own functions by inclusive time: which of its code paths the time is spent under. */
  careidByTotal: HotSpot[]
}

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * Where a function is: file:line:column. tsx compiles TypeScript with minified whitespace, so in
 * Careid's own files the line is that of the compiled code; the name (tsx keeps names) and the
 * column tell such functions apart.
 */
function where(frame: ProfileNode['callFrame']): string {
  if (frame.url === '') return ''
  const path = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url
  const short = path.startsWith(root) ? path.slice(root.length) : path
  return `${short}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`
}

function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame
  if (url === '') return functionName.startsWith('(') ? functionName : 'V8 builtins and native'
  if (url.startsWith('node:')) return 'node internals'
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]
  if (pkg !== undefined) return pkg
  const careid = /\/packages\/([^/]+)\//.exec(url)?.[1]
  if (careid !== undefined) return `@careid/${careid}`
  return 'other'
}

const isCareid = (url: string) => /\/packages\/[^/]+\/src\//.test(url)

interface Tally {
  function: string
  where: string
  samples: number
}

function top(map: Map<string, Tally>, busy: number, n: number): HotSpot[] {
  return [...map.values()]
    .sort((a, b) => b.samples - a.samples)
    .slice(0, n)
    .map((t) => ({ function: t.function, where: t.where, share: busy > 0 ? t.samples / busy : 0 }))
}

/** Summarises the samples taken between `fromUs` and `toUs` (monotonic microseconds). */
export function summarise(file: string, fromUs: number, toUs: number, n = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const keyOf = ({ callFrame: f }: ProfileNode) => `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}`
  const tallyOf = (node: ProfileNode): Tally => ({ function: node.callFrame.functionName || '(anonymous)', where: where(node.callFrame), samples: 0 })

  const self = new Map<string, Tally>()
  const total = new Map<string, Tally>()
  const areas = new Map<string, number>()
  let all = 0
  let busy = 0
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    if (t < fromUs || t > toUs) continue
    const node = nodes.get(profile.samples[i] as number)
    if (node === undefined) continue
    all++
    const area = areaOf(node.callFrame)
    if (area === '(idle)') continue
    busy++
    areas.set(area, (areas.get(area) ?? 0) + 1)
    const entry = self.get(keyOf(node)) ?? tallyOf(node)
    entry.samples++
    self.set(keyOf(node), entry)
    // Inclusive: each of Careid's functions once per sample, however deep its recursion.
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id) as ProfileNode
      const key = keyOf(frame)
      if (!isCareid(frame.callFrame.url) || seen.has(key)) continue
      seen.add(key)
      const sum = total.get(key) ?? tallyOf(frame)
      sum.samples++
      total.set(key, sum)
    }
  }
  return {
    windowMs: (toUs - fromUs) / 1000,
    busy: all > 0 ? busy / all : 0,
    byArea: [...areas].sort((a, b) => b[1] - a[1]).map(([area, samples]) => ({ area, share: busy > 0 ? samples / busy : 0 })),
    bySelf: top(self, busy, n),
    careidByTotal: top(total, busy, n),
  }
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`
  return [
    `${title}: ${(s.windowMs / 1000).toFixed(1)} s of load, main thread busy in ${pct(s.busy).trim()} of samples`,
    '  busy samples by area:',
    ...s.byArea.slice(0, 12).map((a) => `    ${pct(a.share)}  ${a.area}`),
    '  functions by self time:',
    ...s.bySelf.map((h) => `    ${pct(h.share)}  ${h.function}  ${h.where}`),
    '  Careid functions by inclusive time:',
    ...s.careidByTotal.map((h) => `    ${pct(h.share)}  ${h.function}  ${h.where}`),
  ].join('\n')
}
