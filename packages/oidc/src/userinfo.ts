/**
 * The userinfo endpoint (OIDC Core 5.3), GET or POST, the access token in the Authorization header
 * or (POST) the form body (RFC 6750 2.1, 2.2; "Clients MUST NOT use more than one method").
 * Claims by scope exactly as CIS2 returns them (cis2.md 3.2, 3.3, 3.8), built by the domain.
 */
import { userinfoClaims } from '@careid/domain'
import type { Directory } from '@careid/ports'
import type { Store } from '@careid/ports'
import { isLive, readAccessToken, type OwnTokenVerifier } from './access_token.ts'
import { loadPerson } from './authorize.ts'
import { InsufficientScope, InvalidRequest, InvalidToken, OAuthError } from './errors.ts'

/** RFC 6750 3.1: a request without credentials gets a challenge with no error code. */
export class MissingBearer extends OAuthError {
  constructor() {
    super('invalid_request', 'no access token', 401)
  }
}

export async function userinfo(
  deps: { store: Store; verifier: OwnTokenVerifier; directory: Directory; issuer: string; now: () => number },
  input: { authorization?: string | undefined; bodyToken?: string | string[] | undefined },
): Promise<Record<string, unknown>> {
  const header = input.authorization
  const headerToken = header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : undefined
  // Another scheme (Basic, or "Bearer" with nothing after it) carries no access token: RFC 6750 3.1,
  // a client that "attempted using an unsupported authentication method" gets the bare challenge.
  if (Array.isArray(input.bodyToken)) throw new InvalidRequest("'access_token' parameter must not be provided more than once")
  if (headerToken !== undefined && input.bodyToken !== undefined) throw new InvalidRequest('the access token must be sent one way only')
  const token = headerToken ?? input.bodyToken
  if (token === undefined || token === '') throw new MissingBearer()

  const verified = readAccessToken(deps, token)
  if (verified === undefined) throw new InvalidToken('the access token is invalid, expired or revoked')
  // The person is read alongside the revocation checks (one round trip's wait, not two, on a
  // networked store); nothing of them is released unless the token is live.
  const [live, person] = await Promise.all([isLive(deps.store, verified, deps.now()), loadPerson(deps.store, verified.sub)])
  if (!live) throw new InvalidToken('the access token is invalid, expired or revoked')
  if (!verified.scopes.includes('openid')) throw new InsufficientScope('the access token was not issued for openid')
  if (person === undefined) throw new InvalidToken('the access token is invalid, expired or revoked')
  return userinfoClaims(person, new Set(verified.scopes), deps.directory, verified.selected_roleid)
}
