/**
 * The worker a user-restricted platform grant acts for, read once when the grant is made from the
 * CIS2 ID token (`sub`, `sid`, `acr`, `authentication_assurance_level`, `selected_roleid`) and,
 * when the platform holds a CIS2 access token (the combined pattern), from CIS2's userinfo
 * (`nhsid_nrbac_roles[].person_roleid`): the gateway resolves roles from it on every call without
 * asking CIS2 (cis2.md 6.4).
 */
import type { ApiGrantUser } from '@careid/ports'

/**
 * The grant's user, or undefined when the ID token lacks what every grant needs (`sub`, `sid`, an
 * assurance level of 1 to 3). CIS2 sends `authentication_assurance_level` as a string ("3").
 */
export function grantUserOf(idToken: Readonly<Record<string, unknown>>, userinfo?: Readonly<Record<string, unknown>>): ApiGrantUser | undefined {
  const { sub, sid, acr, selected_roleid } = idToken
  const aal = Number(idToken.authentication_assurance_level)
  if (typeof sub !== 'string' || sub === '' || typeof sid !== 'string' || sid === '' || ![1, 2, 3].includes(aal)) return undefined
  const user: ApiGrantUser = { sub, sid, aal, acr: typeof acr === 'string' ? acr : '' }
  if (typeof selected_roleid === 'string' && selected_roleid !== '') user.selected_roleid = selected_roleid
  if (userinfo !== undefined) user.role_ids = roleIdsOf(userinfo)
  return user
}

/** Every `person_roleid` of userinfo's `nhsid_nrbac_roles`, skipping entries without one. */
function roleIdsOf(userinfo: Readonly<Record<string, unknown>>): string[] {
  const roles = userinfo.nhsid_nrbac_roles
  if (!Array.isArray(roles)) return []
  return roles.flatMap((role: unknown) => {
    const id = (role as { person_roleid?: unknown } | null)?.person_roleid
    return typeof id === 'string' && id !== '' ? [id] : []
  })
}
