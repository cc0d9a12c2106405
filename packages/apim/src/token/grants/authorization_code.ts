/**
 * grant_type=authorization_code, the combined pattern's token request (cis2.md 6.2 step 4):
 * `code`, `redirect_uri`, `client_id`, `client_secret`, form-encoded. It redeems the platform's own
 * code, made at `/callback` once CIS2 signed the worker in (platform_code.ts), for a grant holding
 * what the code carries. In the proxy's order (Flow.PostTokenAuthorizationCode), after the secret:
 * - `redirect_uri` missing → 400 "redirect_uri is missing"; not the application's registered
 *   callback → 400 "redirect_uri is invalid";
 * - `code` missing → 400 "authorization_code is missing";
 * - a code that is unknown, expired, already redeemed, another application's, or issued for
 *   another redirect_uri (RFC 6749 4.1.3: the redirect_uri "MUST be identical" to the one the code
 *   was issued for) → 400 `invalid_grant` "authorization_code is invalid". Redemption is single
 *   use and atomic in the store; a reused code fails and revokes nothing more.
 */
import { sha256, type Params } from '@careid/oidc'
import type { ApplicationRecord } from '@careid/ports'
import type { PlatformCodePayload } from '../../platform_code.ts'
import { PlatformRefusal } from '../../platform_errors.ts'
import { ACCESS_TOKEN_EXPIRY_MS, issueGrant, platformTokenResponse, REFRESH_TOKENS_VALIDITY_MS, type PlatformTokenResponse } from '../platform_tokens.ts'
import { accessTokenExpiryParam, askedReduction, reduced, refreshTokensValidityParam } from '../test_reductions.ts'
import type { PlatformGrant, PlatformGrantDeps } from './platform_grant.ts'

const invalidCode = 'authorization_code is invalid'

export function authorizationCodeGrant(deps: PlatformGrantDeps): PlatformGrant {
  return {
    grantType: 'authorization_code',
    parameters: ['code', 'redirect_uri', accessTokenExpiryParam, refreshTokensValidityParam],
    handle: ({ client, params }) => redeem(deps, client, params),
  }
}

async function redeem(deps: PlatformGrantDeps, application: ApplicationRecord, params: Params): Promise<PlatformTokenResponse> {
  const redirectUri = params.get('redirect_uri')
  if (redirectUri === undefined) throw new PlatformRefusal('invalid_request', 'redirect_uri is missing', 400)
  if (!application.callback_urls.includes(redirectUri)) throw new PlatformRefusal('invalid_request', 'redirect_uri is invalid', 400)
  const code = params.get('code')
  if (code === undefined) throw new PlatformRefusal('invalid_request', 'authorization_code is missing', 400)

  const now = deps.now()
  const redemption = await deps.store.codes.redeem(sha256(code), now)
  if (redemption.kind !== 'first') throw new PlatformRefusal('invalid_grant', invalidCode, 400, { detail: `code ${redemption.kind}` })
  const record = redemption.code
  if (record.client_id !== application.api_key) throw new PlatformRefusal('invalid_grant', invalidCode, 400, { detail: "another application's code" })
  if (record.redirect_uri !== redirectUri) throw new PlatformRefusal('invalid_grant', invalidCode, 400, { detail: 'redirect_uri differs from the code' })
  const payload = record.payload as unknown as PlatformCodePayload

  const accessTtl = reduced(ACCESS_TOKEN_EXPIRY_MS, deps.environment, payload.reductions?.access_token_expiry_ms, askedReduction(params, accessTokenExpiryParam, deps.environment))
  const validity = reduced(REFRESH_TOKENS_VALIDITY_MS, deps.environment, payload.reductions?.refresh_tokens_validity_ms, askedReduction(params, refreshTokensValidityParam, deps.environment))
  const tokens = await issueGrant(
    deps.store,
    {
      grant_id: record.grant_id,
      api_key: application.api_key,
      pattern: 'combined',
      scope: payload.scope,
      user: payload.user,
      cis2_access_token_sealed: payload.cis2_access_token_sealed,
      authenticated_at: payload.authenticated_at,
      refresh_until: now + validity,
    },
    now,
    accessTtl,
    true,
  )
  return platformTokenResponse({ kind: 'authorization_code', sid: payload.user.sid }, tokens)
}
