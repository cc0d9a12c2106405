/**
 * `GET /oauth2/callback`: where CIS2 sends the browser back to the platform (cis2.md 6.2 step 3),
 * in the platform's order:
 * - the platform's state names the interaction `/authorize` kept, once: an unknown, expired or
 *   already used state is 400 "Invalid state parameter." (6.7), as JSON;
 * - the application must still be registered (else 401 "client_id is invalid");
 * - an `error` from CIS2 (the worker cancelled, no authenticator at the asked level) goes on to the
 *   application's redirect URI with its state, as RFC 6749 4.1.2.1 answers a refused request;
 * - the code is exchanged at CIS2's token endpoint (`client_secret_post`) and the ID token checked
 *   as the platform checks it; CIS2's userinfo is read once, for the worker's roles;
 * - the application's scopes are filtered by the sign-in's assurance level; none left is 401
 *   `unauthorized_client` with the platform's text (6.1), as JSON;
 * - the platform's own code is stored with what the grant will hold (the CIS2 access token sealed,
 *   for the proxied `/userinfo`), and the browser goes to the application's redirect URI with it
 *   and the application's state.
 */
import { randomToken, sha256 } from '@careid/oidc'
import type { Json, ServiceRoute } from '@careid/ports'
import { userScopesAtLevel } from '../aal_scopes.ts'
import { fromCis2 } from './cis2_provider.ts'
import { checkExternalIdToken } from './external_id_token.ts'
import { grantUserOf } from '../grant_user.ts'
import { PLATFORM_CODE_TTL_MS, type PlatformCodePayload } from '../platform_code.ts'
import { platformCallbackUrl, type PlatformDeps } from './platform_deps.ts'
import { noScopeLeft, PlatformRefusal, unknownError } from '../platform_errors.ts'
import { interactionIdOf, platformInteractionOf } from './platform_interaction.ts'
import { queryValue, repeated } from './query_value.ts'
import { redirect, withQuery } from './redirect.ts'

export function callbackRoute(deps: PlatformDeps): ServiceRoute {
  const invalidState = () => new PlatformRefusal('invalid_request', 'Invalid state parameter.', 400)
  return {
    method: 'GET',
    path: '/oauth2/callback',
    async handle(request) {
      const state = queryValue(request.query, 'state')
      if (state === undefined || state === repeated) throw invalidState()
      const id = interactionIdOf(state)
      const record = await deps.store.interactions.get(id, deps.now())
      const interaction = record === undefined ? undefined : platformInteractionOf(record)
      // Single use: of concurrent callbacks with one state, only the one that removes it goes on.
      if (interaction === undefined || !(await deps.store.interactions.remove(id))) throw invalidState()
      const application = await deps.store.apps.get(interaction.api_key)
      if (application === undefined) throw new PlatformRefusal('invalid_request', 'client_id is invalid', 401)

      const error = queryValue(request.query, 'error')
      if (error !== undefined) {
        const back: Record<string, string> = { error: error === repeated ? 'invalid_request' : error }
        const description = queryValue(request.query, 'error_description')
        if (typeof description === 'string') back.error_description = description
        back.state = interaction.state
        return redirect(withQuery(interaction.redirect_uri, back))
      }
      const code = queryValue(request.query, 'code')
      if (code === undefined || code === repeated) throw new PlatformRefusal('invalid_request', 'authorization_code is missing', 400)

      const tokens = await fromCis2(() => deps.cis2.exchangeCode(code, platformCallbackUrl(deps.baseUrl), interaction.code_verifier))
      const claims = await checkExternalIdToken(deps.cis2, tokens.id_token, interaction.nonce)
      const userinfo = await fromCis2(() => deps.cis2.userinfo(tokens.access_token))
      if (userinfo.status !== 200 || userinfo.body === null || typeof userinfo.body !== 'object') {
        throw unknownError(500, `CIS2's userinfo answered ${userinfo.status}`)
      }
      const user = grantUserOf(claims, userinfo.body as Record<string, unknown>)
      const scopes = user === undefined ? [] : userScopesAtLevel(application, user.aal)
      if (user === undefined || scopes.length === 0) throw new PlatformRefusal('unauthorized_client', noScopeLeft, 401)

      const now = deps.now()
      const payload: PlatformCodePayload = {
        scope: scopes.join(' '),
        user,
        cis2_access_token_sealed: deps.secrets.seal(tokens.access_token),
        authenticated_at: typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : now,
      }
      const platformCode = randomToken(32)
      await deps.store.codes.save({
        code_hash: sha256(platformCode),
        client_id: application.api_key,
        redirect_uri: interaction.redirect_uri,
        grant_id: randomToken(16),
        expires_at: now + PLATFORM_CODE_TTL_MS,
        payload: JSON.parse(JSON.stringify(payload)) as { [key: string]: Json },
      })
      return redirect(withQuery(interaction.redirect_uri, { code: platformCode, state: interaction.state }))
    },
  }
}
