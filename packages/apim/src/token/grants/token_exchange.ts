/**
 * grant_type=urn:ietf:params:oauth:grant-type:token-exchange, the separate pattern (cis2.md 6.3;
 * RFC 8693): the application, authenticated by its signed client assertion, exchanges the
 * worker's CIS2 ID token (`subject_token`, `subject_token_type` id_token) for platform tokens.
 * - The ID token is checked as the platform checks it (subject_token.ts).
 * - The grant's scopes are the application's product scopes at the ID token's assurance level
 *   (cis2.md 6.1: "The platform keeps only the product scopes containing `:aal<N>:`"); with none
 *   left, 401 `unauthorized_client` "you have tried to request authorization but your application
 *   is not configured to use this authorization grant type".
 * - The grant's user is read from the ID token; the platform holds no CIS2 access token here, so
 *   it knows no role ids beyond the token's `selected_roleid` (cis2.md 6.4).
 * - The response says what it issued (RFC 8693 2.2.1 `issued_token_type`), with a refresh token.
 */
import { userScopesAtLevel } from '../../aal_scopes.ts'
import { grantUserOf } from '../../grant_user.ts'
import { noScopeLeft, PlatformRefusal } from '../../platform_errors.ts'
import { ACCESS_TOKEN_EXPIRY_MS, issueGrant, platformTokenResponse, REFRESH_TOKENS_VALIDITY_MS } from '../platform_tokens.ts'
import { verifiedSubjectToken, type Cis2Trust } from '../subject_token.ts'
import { accessTokenExpiryParam, askedReduction, reduced, refreshTokensValidityParam } from '../test_reductions.ts'
import type { PlatformGrant, PlatformGrantDeps } from './platform_grant.ts'

export const tokenExchangeGrantType = 'urn:ietf:params:oauth:grant-type:token-exchange'
/** The only subject token type the platform exchanges (cis2.md 6.3 step 3). */
export const idTokenType = 'urn:ietf:params:oauth:token-type:id_token'

export function tokenExchangeGrant(deps: PlatformGrantDeps & { cis2: Cis2Trust }): PlatformGrant {
  return {
    grantType: tokenExchangeGrantType,
    parameters: ['subject_token', accessTokenExpiryParam, refreshTokensValidityParam],
    async handle({ client: application, params }) {
      const now = deps.now()
      const claims = await verifiedSubjectToken(params.get('subject_token'), deps.cis2, now)
      const scopes = userScopesAtLevel(application, Number(claims.authentication_assurance_level))
      if (scopes.length === 0) throw new PlatformRefusal('unauthorized_client', noScopeLeft, 401)
      const user = grantUserOf(claims)
      if (user === undefined) throw new PlatformRefusal('invalid_request', 'subject_token is invalid', 400, { detail: 'the ID token lacks sub, sid or an assurance level' })
      // When the worker signed in, as the ID token states it (auth_time), else now.
      const authTime = typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : now
      const authenticatedAt = Math.min(authTime, now)
      const accessTtl = reduced(ACCESS_TOKEN_EXPIRY_MS, deps.environment, askedReduction(params, accessTokenExpiryParam, deps.environment))
      const validity = reduced(REFRESH_TOKENS_VALIDITY_MS, deps.environment, askedReduction(params, refreshTokensValidityParam, deps.environment))
      const tokens = await issueGrant(
        deps.store,
        { api_key: application.api_key, pattern: 'token_exchange', scope: scopes.join(' '), user, authenticated_at: authenticatedAt, refresh_until: now + validity },
        now,
        accessTtl,
        true,
      )
      return platformTokenResponse({ kind: 'token_exchange' }, tokens)
    },
  }
}
