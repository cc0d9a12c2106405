export type * from './types.ts'
export { nationalActivities, nationalJobRoles } from './national_rbac.ts'
export { demoOrganisations } from './organisations.ts'
export { createDirectory, defaultCatalogue, expandActivities, type Catalogue } from './directory.ts'
export { demoCredentials, demoWorkforce } from './demo_workforce.ts'
export { findPosition, parsePerson, registrationKeys } from './person.ts'
export {
  idTokenPersonClaims,
  roleOptions,
  userinfoClaims,
  type NrbacRoleClaim,
  type OrgMembershipClaim,
  type OrgRoleClaim,
  type RoleOption,
  type UserOrgClaim,
} from './claims.ts'
