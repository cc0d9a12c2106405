/**
 * grant_type=client_credentials, application-restricted access with a signed JWT (cis2.md 6.5):
 * the application, authenticated by its client assertion, gets an access token for its
 * application-restricted scopes. "Only `urn:nhsd:apim:app:level3:*` scopes are granted"
 * (filter-application-restricted-scopes.js); with none, the platform answers as when a sign-in
 * leaves no scope: 401 `unauthorized_client`. No refresh token: the application signs a new JWT.
 * The response is `{access_token, expires_in, token_type, issued_at}`, strings all.
 */
import { applicationRestrictedPrefix } from '../../catalogue.ts'
import { noScopeLeft, PlatformRefusal } from '../../platform_errors.ts'
import { ACCESS_TOKEN_EXPIRY_MS, issueGrant, platformTokenResponse } from '../platform_tokens.ts'
import { accessTokenExpiryParam, askedReduction, reduced } from '../test_reductions.ts'
import type { PlatformGrant, PlatformGrantDeps } from './platform_grant.ts'

export function clientCredentialsGrant(deps: PlatformGrantDeps): PlatformGrant {
  return {
    grantType: 'client_credentials',
    parameters: [accessTokenExpiryParam],
    async handle({ client: application, params }) {
      const scopes = application.subscriptions.flatMap((s) => s.scopes).filter((scope) => scope.startsWith(applicationRestrictedPrefix))
      if (scopes.length === 0) throw new PlatformRefusal('unauthorized_client', noScopeLeft, 401)
      const now = deps.now()
      const accessTtl = reduced(ACCESS_TOKEN_EXPIRY_MS, deps.environment, askedReduction(params, accessTokenExpiryParam, deps.environment))
      const tokens = await issueGrant(
        deps.store,
        { api_key: application.api_key, pattern: 'client_credentials', scope: scopes.join(' '), authenticated_at: now, refresh_until: now },
        now,
        accessTtl,
        false,
      )
      return platformTokenResponse({ kind: 'client_credentials' }, tokens)
    },
  }
}
