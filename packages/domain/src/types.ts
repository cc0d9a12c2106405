/**
 * The CIS2 domain: people (12-digit UIDs), organisations (ODS codes), national RBAC job roles and
 * activities, and the positions people hold. Wire shapes (userinfo claims) are built from these in
 * `claims.ts`; nothing else knows the claim names. The catalogue's records (organisations, job roles,
 * activities) and the `Directory` that looks them up are the directory port, in @careid/ports.
 *
 * @see ../../../../shared/spec/cis2.md section 3
 */

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
