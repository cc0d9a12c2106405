/**
 * Which role a healthcare worker's call acts in (cis2.md 6.4), in the order of the platform's
 * shared user-role-service flow:
 * 1. the `NHSD-Session-URID` header, "checked against the user's `nhsid_nrbac_roles[].person_roleid`";
 * 2. otherwise `selected_roleid` from the CIS2 ID token;
 * 3. otherwise, "if userinfo has exactly one role, that role".
 *
 * The roles come from the grant (`ApiGrantUser.role_ids`, read from CIS2's userinfo when the grant
 * was made), so resolving never waits on CIS2. A separate-pattern grant holds none: the platform
 * holds no CIS2 access token to ask userinfo with, and without a header or a `selected_roleid` it
 * answers "selected_roleid is missing in your token". With a header it would ask userinfo and fail
 * with a server error ("unable to retrieve user info", 500); Careid instead accepts the header only
 * when it names the role the signed ID token selected, and refuses any other value as invalid: a
 * client's input never makes a server error.
 */
import type { ApiGrantUser, RoleFailure } from '@careid/ports'

export type RoleResolution = { ok: true; roleId: string } | { ok: false; failure: RoleFailure }

export function resolveRole(user: ApiGrantUser, header: string | undefined): RoleResolution {
  const roles = user.role_ids
  // An empty header is no header, as the flow reads it.
  if (header !== undefined && header !== '') {
    if (roles === undefined) return header === user.selected_roleid ? { ok: true, roleId: header } : { ok: false, failure: 'urid_invalid' }
    if (!usable(roles)) return { ok: false, failure: 'roles_invalid' }
    return roles.includes(header) ? { ok: true, roleId: header } : { ok: false, failure: 'urid_invalid' }
  }
  if (user.selected_roleid !== undefined) {
    if (roles === undefined) return { ok: true, roleId: user.selected_roleid }
    if (!usable(roles)) return { ok: false, failure: 'roles_invalid' }
    // `selected_roleid` must be one of the worker's roles: anything else is misconfigured.
    return roles.includes(user.selected_roleid) ? { ok: true, roleId: user.selected_roleid } : { ok: false, failure: 'selected_roleid_invalid' }
  }
  if (roles === undefined) return { ok: false, failure: 'selected_roleid_missing' }
  if (!usable(roles)) return { ok: false, failure: 'roles_invalid' }
  if (roles.length === 0) return { ok: false, failure: 'no_roles' }
  if (roles.length > 1) return { ok: false, failure: 'multiple_roles' }
  return { ok: true, roleId: roles[0]! }
}

/**
 * The stored roles are a list of non-empty ids: a grant stored by another node or an older release
 * is data, and "nhsid_nrbac_roles is misconfigured/invalid" is the flow's answer to roles it
 * cannot use.
 */
function usable(roles: unknown): roles is string[] {
  return Array.isArray(roles) && roles.every((role) => typeof role === 'string' && role !== '')
}
