/**
 * Reading people back from the store, and finding one of their positions. The store keeps people
 * as opaque JSON, so everything read back is checked here before the rest of Careid trusts it: a
 * malformed record must fail loudly, not turn into a wrong claim.
 */
import type { AreaOfWork, OrgMembership, Person, Position, ProfessionalRegistrations, Workgroup } from './types.ts'

/** The professional registration claims, in the order userinfo releases them (cis2.md 3.8). */
export const registrationKeys = [
  'gmc_id',
  'nmc_id',
  'gphc_id',
  'gdc_id',
  'gdp_id',
  'rcn_id',
  'gmp_id',
  'consultant_id',
] as const satisfies readonly (keyof ProfessionalRegistrations)[]

/** Keys of an `nhsid_org_memberships` element that an org-scoped code must not overwrite. */
export const reservedMembershipKeys: ReadonlySet<string> = new Set(['person_orgid', 'org_name', 'org_code'])

/** The position with this User Role ID (URID), if the person holds it. */
export function findPosition(person: Person, person_roleid: string): Position | undefined {
  return person.positions.find((p) => p.person_roleid === person_roleid)
}

const twelveDigits = /^\d{12}$/
const odsCode = /^[A-Z0-9]{2,10}$/
const quotedTriple = /^"[^"]+":"[^"]+":"[^"]+"$/

function fail(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`)
}

type Fields = { [key: string]: unknown }

function record(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'expected an object')
  return value as Fields
}

function object(value: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Fields {
  const fields = record(value, path)
  for (const key of Object.keys(fields)) {
    if (!required.includes(key) && !optional.includes(key)) fail(`${path}.${key}`, 'unexpected property')
  }
  for (const key of required) if (!Object.hasOwn(fields, key)) fail(`${path}.${key}`, 'missing')
  return fields
}

function string(value: unknown, path: string, pattern?: RegExp): string {
  if (typeof value !== 'string') fail(path, 'expected a string')
  if (pattern !== undefined && !pattern.test(value)) fail(path, `expected to match ${String(pattern)}`)
  return value
}

const nonEmpty = /\S/

function array<T>(value: unknown, path: string, item: (value: unknown, path: string) => T): T[] {
  if (!Array.isArray(value)) fail(path, 'expected an array')
  return value.map((v, i) => item(v, `${path}[${i}]`))
}

function unique(values: readonly string[], path: string, what: string): void {
  const seen = new Set<string>()
  for (const [i, v] of values.entries()) {
    if (seen.has(v)) fail(`${path}[${i}]`, `duplicate ${what} ${v}`)
    seen.add(v)
  }
}

function registrations(value: unknown, path: string): ProfessionalRegistrations {
  const fields = object(value, path, [], registrationKeys)
  const out: ProfessionalRegistrations = {}
  for (const key of registrationKeys) {
    if (fields[key] !== undefined) out[key] = string(fields[key], `${path}.${key}`, nonEmpty)
  }
  return out
}

function membership(value: unknown, path: string): OrgMembership {
  const fields = object(value, path, ['person_orgid', 'org_code'], ['codes'])
  const out: OrgMembership = {
    person_orgid: string(fields.person_orgid, `${path}.person_orgid`, twelveDigits),
    org_code: string(fields.org_code, `${path}.org_code`, odsCode),
  }
  if (fields.codes !== undefined) {
    const codes = record(fields.codes, `${path}.codes`)
    out.codes = {}
    for (const [key, code] of Object.entries(codes)) {
      // Codes are spread into the membership claim beside the fixed keys, so they must not replace them.
      if (!/^[a-z][a-z0-9_]*$/.test(key) || reservedMembershipKeys.has(key)) fail(`${path}.codes.${key}`, 'not an allowed code name')
      out.codes[key] = string(code, `${path}.codes.${key}`, nonEmpty)
    }
  }
  return out
}

function workgroup(value: unknown, path: string): Workgroup {
  const fields = object(value, path, ['code', 'name'])
  return { code: string(fields.code, `${path}.code`, twelveDigits), name: string(fields.name, `${path}.name`, nonEmpty) }
}

function areaOfWork(value: unknown, path: string): AreaOfWork {
  const fields = object(value, path, ['code', 'name'])
  return {
    code: string(fields.code, `${path}.code`, /^P\d{4}:Q\d{4}:T\d{4}$/),
    name: string(fields.name, `${path}.name`, quotedTriple),
  }
}

function position(value: unknown, path: string): Position {
  const fields = object(value, path, [
    'person_roleid',
    'person_orgid',
    'org_code',
    'job_role_code',
    'activity_codes',
    'workgroups',
    'areas_of_work',
  ])
  return {
    person_roleid: string(fields.person_roleid, `${path}.person_roleid`, twelveDigits),
    person_orgid: string(fields.person_orgid, `${path}.person_orgid`, twelveDigits),
    org_code: string(fields.org_code, `${path}.org_code`, odsCode),
    job_role_code: string(fields.job_role_code, `${path}.job_role_code`, /^R\d{4}$/),
    activity_codes: array(fields.activity_codes, `${path}.activity_codes`, (v, p) => string(v, p, /^B\d{4}$/)),
    workgroups: array(fields.workgroups, `${path}.workgroups`, workgroup),
    areas_of_work: array(fields.areas_of_work, `${path}.areas_of_work`, areaOfWork),
  }
}

function assuranceLevel(value: unknown, path: string): Person['id_assurance_level'] {
  if (value !== 0 && value !== 1 && value !== 2 && value !== 3) fail(path, 'expected 0, 1, 2 or 3')
  return value
}

/**
 * Checks that `json` is a {@link Person} and returns a fresh copy holding only the known fields.
 * Besides shape and formats (12-digit ids, ODS, R and B codes) it checks what the claims rely on:
 * ids unique within the person, and each position at one of the person's memberships, at that
 * membership's organisation. Throws a TypeError naming the path of the first problem.
 */
export function parsePerson(json: unknown): Person {
  const fields = object(
    json,
    'person',
    [
      'uid',
      'username',
      'title',
      'given_name',
      'family_name',
      'initials',
      'display_name',
      'email',
      'id_assurance_level',
      'registrations',
      'org_memberships',
      'positions',
    ],
    ['middle_names'],
  )
  const person: Person = {
    uid: string(fields.uid, 'person.uid', twelveDigits),
    username: string(fields.username, 'person.username', /^\S+$/),
    title: string(fields.title, 'person.title'),
    given_name: string(fields.given_name, 'person.given_name', nonEmpty),
    family_name: string(fields.family_name, 'person.family_name', nonEmpty),
    initials: string(fields.initials, 'person.initials'),
    display_name: string(fields.display_name, 'person.display_name', nonEmpty),
    email: string(fields.email, 'person.email', /^[^\s@]+@[^\s@]+$/),
    id_assurance_level: assuranceLevel(fields.id_assurance_level, 'person.id_assurance_level'),
    registrations: registrations(fields.registrations, 'person.registrations'),
    org_memberships: array(fields.org_memberships, 'person.org_memberships', membership),
    positions: array(fields.positions, 'person.positions', position),
  }
  // Absent, not undefined, so a parsed person equals the one that was stored.
  if (fields.middle_names !== undefined) person.middle_names = string(fields.middle_names, 'person.middle_names')

  unique(person.org_memberships.map((m) => m.person_orgid), 'person.org_memberships', 'person_orgid')
  unique(person.positions.map((p) => p.person_roleid), 'person.positions', 'person_roleid')
  const orgOf = new Map(person.org_memberships.map((m) => [m.person_orgid, m.org_code]))
  for (const [i, p] of person.positions.entries()) {
    const org = orgOf.get(p.person_orgid)
    if (org === undefined) fail(`person.positions[${i}].person_orgid`, `no membership ${p.person_orgid}`)
    if (org !== p.org_code) fail(`person.positions[${i}].org_code`, `membership ${p.person_orgid} is at ${org}, not ${p.org_code}`)
  }
  return person
}
