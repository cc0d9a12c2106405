/**
 * The directory: lookups over the national RBAC catalogue and the organisations, and the expansion
 * of activities through `includes` that authorisation checks need (cis2.md 3.3).
 */
import { nationalActivities, nationalJobRoles } from './national_rbac.ts'
import { demoOrganisations } from './organisations.ts'
import type { Activity, Directory, JobRole, Organisation } from '@careid/ports'

/** What a directory is built from. */
export interface Catalogue {
  organisations: readonly Organisation[]
  jobRoles: readonly JobRole[]
  activities: readonly Activity[]
}

/** The national catalogue with the demo organisations. */
export const defaultCatalogue: Catalogue = {
  organisations: demoOrganisations,
  jobRoles: nationalJobRoles,
  activities: nationalActivities,
}

function index<T>(kind: string, items: readonly T[], key: (item: T) => string): Map<string, T> {
  const map = new Map<string, T>()
  for (const item of items) {
    const code = key(item)
    // A later entry silently replacing an earlier one would hide a catalogue mistake.
    if (map.has(code)) throw new Error(`duplicate ${kind} code ${code}`)
    map.set(code, item)
  }
  return map
}

function frozenCopy<T>(value: T): T {
  // Lookups hand out shared objects; freezing a private copy means no caller can change the
  // catalogue under everyone else, and the caller's input stays its own.
  const copy = structuredClone(value)
  const freeze = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return
    Object.freeze(v)
    for (const child of Object.values(v)) freeze(child)
  }
  freeze(copy)
  return copy
}

/**
 * Builds a {@link Directory} over a catalogue (by default the national catalogue and the demo
 * organisations). Throws if a code appears twice or an activity includes one that does not exist,
 * so a broken catalogue fails at start-up rather than in a userinfo response.
 */
export function createDirectory(catalogue: Catalogue = defaultCatalogue): Directory {
  const organisations = index('organisation', frozenCopy(catalogue.organisations), (o) => o.org_code)
  const jobRoles = index('job role', frozenCopy(catalogue.jobRoles), (r) => r.code)
  const activities = index('activity', frozenCopy(catalogue.activities), (a) => a.code)
  for (const a of activities.values()) {
    for (const included of a.includes) {
      if (!activities.has(included)) throw new Error(`activity ${a.code} includes unknown activity ${included}`)
    }
  }
  return {
    organisation: (code) => organisations.get(code),
    jobRole: (code) => jobRoles.get(code),
    activity: (code) => activities.get(code),
  }
}

/**
 * The activities `codes` grant: each code followed by everything it includes, transitively,
 * depth first, each code once (the first time it is reached), so the order is stable. Cycles in
 * `includes` end the walk instead of looping. A code the directory does not know is still granted
 * (the person holds it) but expands to nothing.
 */
export function expandActivities(codes: readonly string[], directory: Pick<Directory, 'activity'>): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  // An explicit stack rather than recursion, so a long chain of includes cannot overflow the call
  // stack. Pushing in reverse and marking on pop gives the same order as a recursive walk.
  const stack = [...codes].reverse()
  for (let code = stack.pop(); code !== undefined; code = stack.pop()) {
    if (seen.has(code)) continue
    seen.add(code)
    out.push(code)
    stack.push(...[...(directory.activity(code)?.includes ?? [])].reverse())
  }
  return out
}
