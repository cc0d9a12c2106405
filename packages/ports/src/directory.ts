/**
 * The directory port: the national catalogue the core looks codes up in (organisations by ODS code,
 * national RBAC job roles and activities). The CIS2 domain (@careid/domain) implements it.
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

/** Looks up the national catalogue: organisations, job roles and activities. */
export interface Directory {
  organisation(code: string): Organisation | undefined
  jobRole(code: string): JobRole | undefined
  activity(code: string): Activity | undefined
}
