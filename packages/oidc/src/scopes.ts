/** CIS2 scopes (cis2.md 3.1). Unknown requested scopes are dropped, not refused (RFC 6749 3.3). */
export const scopesSupported = [
  'openid',
  'profile',
  'email',
  'nhsperson',
  'associatedorgs',
  'nationalrbacaccess',
  'professionalmemberships',
  'organisationalmemberships',
  'selectedrole',
  'changedrole',
] as const

const supported: ReadonlySet<string> = new Set(scopesSupported)

export function grantedScopes(requested: readonly string[]): string[] {
  return requested.filter((s) => supported.has(s))
}
