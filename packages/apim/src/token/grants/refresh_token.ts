/**
 * grant_type=refresh_token (cis2.md 6.2 step 5, 6.3 step 5: "Refresh works as in step 5 of §6.2
 * (client_id + client_secret)"), as the proxy's Flow.PostRefreshToken answers it, after the secret:
 * - `refresh_token` missing → 400 `invalid_request` "refresh_token is missing";
 * - a refresh token that is unknown, already used ("Refresh tokens are **single-use**"), revoked,
 *   or another application's → 401 `invalid_grant` "refresh_token is invalid" (cis2.md 6.7);
 * - once the refresh period has passed ("refreshing stops once `refresh_tokens_validity_ms` has
 *   passed since first authentication"), and for a refresh token whose own time ran out (the
 *   proxy's ExpiredRefreshToken) → 401 `invalid_grant` "refresh token refresh period has expired".
 * Otherwise the token is exchanged, once (the store's rotate is atomic: of concurrent refreshes
 * of one token exactly one succeeds), for a new access token and refresh token, `refresh_count`
 * one higher. Nothing is changed by a refused refresh.
 */
import { sha256, type Params } from '@careid/oidc'
import type { ApplicationRecord } from '@careid/ports'
import { PlatformRefusal } from '../../platform_errors.ts'
import { ACCESS_TOKEN_EXPIRY_MS, platformTokenResponse, REFRESH_TOKENS_VALIDITY_MS, rotateGrant, type PlatformTokenResponse } from '../platform_tokens.ts'
import { accessTokenExpiryParam, askedReduction, reduced, refreshTokensValidityParam } from '../test_reductions.ts'
import type { PlatformGrant, PlatformGrantDeps } from './platform_grant.ts'

const invalidToken = 'refresh_token is invalid'
const periodExpired = 'refresh token refresh period has expired'

export function refreshTokenGrant(deps: PlatformGrantDeps): PlatformGrant {
  return {
    grantType: 'refresh_token',
    parameters: ['refresh_token', accessTokenExpiryParam, refreshTokensValidityParam],
    handle: ({ client, params }) => refresh(deps, client, params),
  }
}

async function refresh(deps: PlatformGrantDeps, application: ApplicationRecord, params: Params): Promise<PlatformTokenResponse> {
  const presented = params.get('refresh_token')
  if (presented === undefined) throw new PlatformRefusal('invalid_request', 'refresh_token is missing', 400)
  const hash = sha256(presented)
  const now = deps.now()
  const found = await deps.store.apiGrants.findRefresh(hash, now)
  if (found === undefined) {
    // Looked up again at the epoch, the token is found if it is only out of time: unused, its
    // grant not revoked. The platform answers that with the expired period, not "invalid".
    const stale = await deps.store.apiGrants.findRefresh(hash, 0)
    const expired = stale !== undefined && stale.grant.api_key === application.api_key
    throw new PlatformRefusal('invalid_grant', expired ? periodExpired : invalidToken, 401)
  }
  const { token, grant } = found
  if (grant.api_key !== application.api_key) throw new PlatformRefusal('invalid_grant', invalidToken, 401, { detail: "another application's refresh token" })

  // The platform compares the grant's age (since its first token, calculate-token-age.js) with the
  // validity, which a test may reduce.
  const validity = reduced(REFRESH_TOKENS_VALIDITY_MS, deps.environment, askedReduction(params, refreshTokensValidityParam, deps.environment))
  const refreshUntil = Math.min(grant.refresh_until, grant.created_at + validity)
  if (now > refreshUntil) throw new PlatformRefusal('invalid_grant', periodExpired, 401)

  const accessTtl = reduced(ACCESS_TOKEN_EXPIRY_MS, deps.environment, askedReduction(params, accessTokenExpiryParam, deps.environment))
  const tokens = await rotateGrant(deps.store, token, now, accessTtl, refreshUntil)
  if (tokens === undefined) throw new PlatformRefusal('invalid_grant', invalidToken, 401, { detail: 'used by a concurrent refresh' })
  return platformTokenResponse({ kind: 'refresh_token' }, tokens)
}
