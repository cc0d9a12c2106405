/**
 * The CIS2 wire format of a person: userinfo claims by scope (cis2.md 3.2, 3.3, 3.8), the person
 * claims of the ID token (3.4) and the role picker's list (3.5). This is the only place claim
 * names are written; everything else asks here.
 *
 * Conventions RPs rely on (NHS client code reads these without defensive parsing): every code and
 * id is a string; list claims are always arrays, `[]` when the scope asks for a list the person
 * has none of; name and code arrays run in parallel.
 */
import { findPosition, registrationKeys, reservedMembershipKeys } from './person.ts'
import type { Directory, JobRole } from '@careid/ports'
import type { IdAssuranceLevel, OrgMembership, Person, Position } from './types.ts'

/** One element of `nhsid_nrbac_roles` (cis2.md 3.3). */
export interface NrbacRoleClaim {
  person_orgid: string
  person_roleid: string
  org_code: string
  /** `"Sector":"Group":"Role"`, matching `role_code`. */
  role_name: string
  /** `S0000:G0000:R0000`. */
  role_code: string
  activities: string[]
  activity_codes: string[]
  workgroups?: string[]
  workgroups_codes?: string[]
  aow?: string[]
  aow_codes?: string[]
}

/** One element of `nhsid_user_orgs`. */
export interface UserOrgClaim {
  org_code: string
  org_name: string
}

/** One element of `nhsid_org_memberships`: the fixed keys plus org-scoped codes such as `gnc`. */
export interface OrgMembershipClaim {
  person_orgid: string
  org_name: string
  org_code: string
  [code: string]: string
}

/** One element of `nhsid_org_roles`. */
export interface OrgRoleClaim {
  person_orgid: string
  org_name: string
  org_code: string
}

/** One entry of the role picker. */
export interface RoleOption {
  person_roleid: string
  /** The quoted triple, as in `nhsid_nrbac_roles[].role_name`. */
  role_name: string
  /** The plain job role name, e.g. `Nurse Access Role`. */
  job_role: string
  org_code: string
  org_name: string
}

// A person's record naming a code the directory lacks is a data error: failing beats inventing a
// name, because RPs make access decisions on these strings.
function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not in the directory`)
  return value
}

function jobRoleOf(position: Position, directory: Directory): JobRole {
  return need(directory.jobRole(position.job_role_code), `job role ${position.job_role_code}`)
}

function orgName(code: string, directory: Directory): string {
  return need(directory.organisation(code), `organisation ${code}`).org_name
}

function roleName(job: JobRole): string {
  return `"${job.sector.name}":"${job.group.name}":"${job.name}"`
}

function nrbacRole(position: Position, directory: Directory): NrbacRoleClaim {
  const job = jobRoleOf(position, directory)
  const claim: NrbacRoleClaim = {
    person_orgid: position.person_orgid,
    person_roleid: position.person_roleid,
    org_code: position.org_code,
    role_name: roleName(job),
    role_code: `${job.sector.code}:${job.group.code}:${job.code}`,
    // The position's own activities, as CIS2 sends them; expanding `includes` is the RP's check.
    activities: position.activity_codes.map((c) => need(directory.activity(c), `activity ${c}`).name),
    activity_codes: [...position.activity_codes],
  }
  if (position.workgroups.length > 0) {
    claim.workgroups = position.workgroups.map((w) => w.name)
    claim.workgroups_codes = position.workgroups.map((w) => w.code)
  }
  if (position.areas_of_work.length > 0) {
    claim.aow = position.areas_of_work.map((a) => a.name)
    claim.aow_codes = position.areas_of_work.map((a) => a.code)
  }
  return claim
}

function userOrgs(person: Person, directory: Directory): UserOrgClaim[] {
  const codes = [...new Set(person.org_memberships.map((m) => m.org_code))]
  return codes.map((org_code) => ({ org_code, org_name: orgName(org_code, directory) }))
}

function orgMembership(m: OrgMembership, directory: Directory): OrgMembershipClaim {
  const claim: OrgMembershipClaim = { person_orgid: m.person_orgid, org_name: orgName(m.org_code, directory), org_code: m.org_code }
  for (const [key, code] of Object.entries(m.codes ?? {})) {
    // parsePerson refuses these keys, but people built in code are not parsed: the fixed keys win.
    if (!reservedMembershipKeys.has(key)) claim[key] = code
  }
  return claim
}

function orgRoles(person: Person, directory: Directory): OrgRoleClaim[] {
  const withRole = new Set(person.positions.map((p) => p.person_orgid))
  return person.org_memberships
    .filter((m) => withRole.has(m.person_orgid))
    .map((m) => ({ person_orgid: m.person_orgid, org_name: orgName(m.org_code, directory), org_code: m.org_code }))
}

/**
 * The userinfo response for `person` under the granted `scopes` (cis2.md 3.2): `sub` always, and
 * each scope's claims only when that scope was granted. `nhsid_org_roles` goes with
 * `organisationalmemberships` (cis2.md leaves its scope open). `selected_roleid` is released under
 * `selectedrole` or `changedrole`, and only while the person still holds that role. Keys follow
 * the order of the cis2.md 3.8 example. Throws if the person names a code the directory lacks.
 */
export function userinfoClaims(
  person: Person,
  scopes: ReadonlySet<string>,
  directory: Directory,
  selectedRoleId?: string,
): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub: person.uid }
  if (scopes.has('profile')) claims.uid = person.uid
  if (scopes.has('nhsperson')) claims.nhsid_useruid = person.uid
  if (scopes.has('profile')) {
    claims.name = `${person.given_name} ${person.family_name}`
    claims.given_name = person.given_name
    claims.family_name = person.family_name
  }
  if (scopes.has('nhsperson')) {
    if (person.middle_names !== undefined && person.middle_names !== '') claims.middle_names = person.middle_names
    claims.display_name = person.display_name
    claims.title = person.title
    claims.initials = person.initials
    claims.idassurancelevel = String(person.id_assurance_level)
  }
  if (scopes.has('email')) claims.email = person.email
  if (scopes.has('professionalmemberships')) {
    for (const key of registrationKeys) {
      const id = person.registrations[key]
      if (id !== undefined) claims[key] = id
    }
  }
  if (scopes.has('associatedorgs')) claims.nhsid_user_orgs = userOrgs(person, directory)
  if (scopes.has('organisationalmemberships')) {
    claims.nhsid_org_memberships = person.org_memberships.map((m) => orgMembership(m, directory))
    claims.nhsid_org_roles = orgRoles(person, directory)
  }
  if (scopes.has('nationalrbacaccess')) claims.nhsid_nrbac_roles = person.positions.map((p) => nrbacRole(p, directory))
  const roleScope = scopes.has('selectedrole') || scopes.has('changedrole')
  if (roleScope && selectedRoleId !== undefined && findPosition(person, selectedRoleId) !== undefined) {
    claims.selected_roleid = selectedRoleId
  }
  return claims
}

/** The person's claims in the ID token (cis2.md 3.4): the identity assurance level, as a string. */
export function idTokenPersonClaims(person: Person): { id_assurance_level: `${IdAssuranceLevel}` } {
  return { id_assurance_level: `${person.id_assurance_level}` }
}

const collator = new Intl.Collator('en-GB')

/**
 * The role picker's list (cis2.md 3.5): one entry per position, sorted by organisation name, then
 * job role, then URID so equal entries still keep one order.
 */
export function roleOptions(person: Person, directory: Directory): RoleOption[] {
  return person.positions
    .map((p) => {
      const job = jobRoleOf(p, directory)
      return {
        person_roleid: p.person_roleid,
        role_name: roleName(job),
        job_role: job.name,
        org_code: p.org_code,
        org_name: orgName(p.org_code, directory),
      }
    })
    .sort(
      (a, b) =>
        collator.compare(a.org_name, b.org_name) ||
        collator.compare(a.job_role, b.job_role) ||
        collator.compare(a.person_roleid, b.person_roleid),
    )
}
