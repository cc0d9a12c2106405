/**
 * `POST /oauth2/backchannel_logout` (cis2.md 6.2 step 7): CIS2 says a session ended, and every
 * platform token granted in it (refreshed ones included) stops working. The logout token is
 * checked in the platform's order and with its answers (identity-service's
 * validate-logout-token-claims.js and its back-channel logout tests):
 * - a `logout_token` that is not a JWT: 400 "Malformed JWT in logout_token";
 * - the claims, before the signature (400 `invalid_request`): the first `aud` is the platform's CIS2
 *   client_id, `iss` is CIS2's issuer (case-insensitively), `sid` is present, `events` has the
 *   back-channel logout member, and there is no `nonce` (OpenID Connect Back-Channel Logout 2.4:
 *   "A nonce Claim MUST NOT be present");
 * - the signature, with CIS2's keys (RS256 or RS512): failing, 400 `bad_request` "Unable to verify
 *   JWT"; CIS2's keys not to be had, 501 "Logout Failed";
 * - a session the platform holds no live grant of: 501 "SID not found";
 * then 200 `{"success": true}`.
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose'
import { backchannelLogoutEvent } from '@careid/oidc'
import type { ServiceRoute } from '@careid/ports'
import type { PlatformDeps } from './platform_deps.ts'
import { PlatformRefusal } from '../platform_errors.ts'

const algorithms = ['RS256', 'RS512']

export function backchannelLogoutRoute(deps: PlatformDeps): ServiceRoute {
  return {
    method: 'POST',
    path: '/oauth2/backchannel_logout',
    async handle(request) {
      const logoutToken = request.contentType === 'application/x-www-form-urlencoded' ? (request.body as Record<string, unknown> | undefined)?.logout_token : undefined
      const claims = decoded(logoutToken)
      const claimsProblem = problemWith(claims, deps.cis2.settings)
      if (claimsProblem !== undefined) throw new PlatformRefusal('invalid_request', claimsProblem, 400)
      try {
        await jwtVerify(logoutToken as string, deps.cis2.keys, { algorithms })
      } catch (error) {
        if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout) && !(error instanceof errors.JWKSInvalid)) {
          throw new PlatformRefusal('bad_request', 'Unable to verify JWT', 400, { detail: `logout token refused: ${error.code}` })
        }
        throw new PlatformRefusal('not_implemented', 'Logout Failed', 501, { detail: `CIS2's signing keys could not be fetched: ${(error as Error).message}` })
      }
      const revoked = await deps.store.apiGrants.revokeBySid(claims.sid as string, deps.now())
      if (revoked === 0) throw new PlatformRefusal('not_implemented', 'SID not found', 501)
      return { status: 200, headers: { 'cache-control': 'no-store' }, json: { success: true } }
    },
  }
}

function decoded(logoutToken: unknown): JWTPayload {
  try {
    if (typeof logoutToken !== 'string') throw new TypeError('no logout_token')
    decodeProtectedHeader(logoutToken)
    return decodeJwt(logoutToken)
  } catch {
    throw new PlatformRefusal('invalid_request', 'Malformed JWT in logout_token', 400)
  }
}

/** The platform's text for the first claim that is wrong, in its order; undefined when none is. */
function problemWith(claims: JWTPayload, cis2: { clientId: string; issuer: string }): string | undefined {
  const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud
  if (aud !== cis2.clientId) return 'Missing/invalid aud claim in JWT'
  if (typeof claims.iss !== 'string' || claims.iss.toLowerCase() !== cis2.issuer.toLowerCase()) return 'Missing/invalid iss claim in JWT'
  if (typeof claims.sid !== 'string' || claims.sid === '') return 'Missing sid claim in JWT'
  const events = claims.events
  if (events === null || typeof events !== 'object' || !Object.hasOwn(events, backchannelLogoutEvent)) return 'Missing/invalid events claim in JWT'
  if (claims.nonce !== undefined) return 'Prohibited nonce claim in JWT'
  return undefined
}
