/**
 * The CIS2 domain: people (12-digit UIDs), organisations (ODS codes), national RBAC job roles and
 * activities, and the positions people hold. Wire shapes (userinfo claims) are built from these in
 * `claims.ts`; nothing else knows the claim names.
 *
 * @see ../../../../shared/spec/cis2.md section 3
 */

/** An organisation, by its ODS code. */
export interface Organisation {
  org_code: string
  org_name: string
  /**
   * What removing a smartcard does to the CIS2 sign-ins made with it (cis2.md 4, the Identity
   * Agent's modes): `end` them (Normal mode, the default) or `lock` them until the card and its
   * passcode are presented again (Session Lock Persistence). Decided by the organisation of the
   * role chosen at the agent.
   */
  card_removal?: 'end' | 'lock' | undefined
}

/** A national RBAC activity ("B" code). `includes` lists activities it implies (B0825 includes B0820). */
export interface Activity {
  code: string
  name: string
  includes: string[]
}

/** A national RBAC job role: the R code with its job role group (G) and sector (S). */
export interface JobRole {
  code: string
  name: string
  group: { code: string; name: string }
  sector: { code: string; name: string }
}

/** A workgroup: a local grouping of users with a 12-digit code. */
export interface Workgroup {
  code: string
  name: string
}

/** An area of work: P:Q:T code triple and its quoted name triple. */
export interface AreaOfWork {
  code: string
  name: string
}

/** A role a person holds at an organisation: one element of `nhsid_nrbac_roles`. */
export interface Position {
  /** The User Role ID (URID), 12 digits. */
  person_roleid: string
  /** The person's membership of the organisation this role is at. */
  person_orgid: string
  org_code: string
  job_role_code: string
  activity_codes: string[]
  workgroups: Workgroup[]
  areas_of_work: AreaOfWork[]
}

/** Membership of an organisation: one element of `nhsid_org_memberships`. */
export interface OrgMembership {
  person_orgid: string
  org_code: string
  /** Organisation-scoped registration codes, e.g. { gnc: 'GNC123' }. */
  codes?: Record<string, string> | undefined
}

/** Professional registrations released by the `professionalmemberships` scope. */
export type ProfessionalRegistrations = Partial<
  Record<'gmc_id' | 'nmc_id' | 'gphc_id' | 'gdc_id' | 'gdp_id' | 'rcn_id' | 'gmp_id' | 'consultant_id', string>
>

export type IdAssuranceLevel = 0 | 1 | 2 | 3

export interface Person {
  /** CIS UID: 12 digits; the `sub`. */
  uid: string
  /** Sign-in name for the password and TOTP authenticators. */
  username: string
  title: string
  given_name: string
  family_name: string
  middle_names?: string | undefined
  initials: string
  display_name: string
  email: string
  id_assurance_level: IdAssuranceLevel
  registrations: ProfessionalRegistrations
  org_memberships: OrgMembership[]
  positions: Position[]
}

/** Looks up the national catalogue: organisations, job roles and activities. */
export interface Directory {
  organisation(code: string): Organisation | undefined
  jobRole(code: string): JobRole | undefined
  activity(code: string): Activity | undefined
}
