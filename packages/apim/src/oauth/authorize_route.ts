/**
 * `GET /oauth2/authorize`: the start of the combined pattern (cis2.md 6.2 step 1, 6.7), in the
 * platform's order of checks:
 * 1. the API key (`client_id`): missing or unknown, 401 `invalid_request` as JSON, no redirect;
 *    an application with no user-restricted product may not use it (401 `access_denied`);
 * 2. `redirect_uri`, which "must equal the app's registered callback": missing or different, 400
 *    as JSON, no redirect (RFC 6749 4.1.2.1: the server "MUST NOT automatically redirect the
 *    user-agent to the invalid redirection URI");
 * 3. `state`, which is mandatory, then `response_type`, which must be `code`: refused with a 302 to
 *    the (now trusted) redirect URI carrying `error` and `error_description`;
 * then the browser goes to CIS2 (step 2) with the platform's own client_id, redirect URI and state,
 * `scope=openid nationalrbacaccess`, `max_age=300` and `acr_values` (default `AAL3_ANY`), and
 * (Careid's addition, the better practice) an S256 PKCE challenge and a nonce.
 */
import { createHash } from 'node:crypto'
import { randomToken } from '@careid/oidc'
import type { ServiceRoute } from '@careid/ports'
import { userScopesAtLevel } from '../aal_scopes.ts'
import { platformCallbackUrl, type PlatformDeps } from './platform_deps.ts'
import { PlatformRefusal } from '../platform_errors.ts'
import { interactionIdOf, PLATFORM_INTERACTION_TTL_MS, type PlatformInteraction } from './platform_interaction.ts'
import { queryValue, repeated } from './query_value.ts'
import { redirect, withQuery } from './redirect.ts'

/** The platform's default when the application names no `acr_values` (cis2.md 6.2 step 1). */
export const defaultAcrValues = 'AAL3_ANY'

const notSubscribedText =
  'API Key supplied does not have access to this resource. Please check the API Key you are using belongs to an app which has sufficient access to access this resource.'

export function authorizeRoute(deps: PlatformDeps): ServiceRoute {
  return {
    method: 'GET',
    path: '/oauth2/authorize',
    async handle(request) {
      const clientId = queryValue(request.query, 'client_id')
      if (clientId === undefined) throw new PlatformRefusal('invalid_request', 'client_id is missing', 401)
      const application = clientId === repeated ? undefined : await deps.store.apps.get(clientId)
      if (application === undefined) throw new PlatformRefusal('invalid_request', 'client_id is invalid', 401)
      // Subscribed to a user-restricted product at some assurance level: else nothing could be granted.
      if (![1, 2, 3].some((aal) => userScopesAtLevel(application, aal).length > 0)) throw new PlatformRefusal('access_denied', notSubscribedText, 401)

      const redirectUri = queryValue(request.query, 'redirect_uri')
      if (redirectUri === undefined) throw new PlatformRefusal('invalid_request', 'redirect_uri is missing', 400)
      if (redirectUri === repeated || !application.callback_urls.includes(redirectUri)) throw new PlatformRefusal('invalid_request', 'redirect_uri is invalid', 400)

      const state = queryValue(request.query, 'state')
      if (state === undefined || state === repeated) return redirect(withQuery(redirectUri, { error: 'invalid_request', error_description: 'state is missing' }))
      const responseType = queryValue(request.query, 'response_type')
      if (responseType === undefined) return redirect(withQuery(redirectUri, { error: 'invalid_request', error_description: 'response_type is missing', state }))
      if (responseType !== 'code') return redirect(withQuery(redirectUri, { error: 'unsupported_response_type', error_description: 'response_type is invalid', state }))
      const acrValues = queryValue(request.query, 'acr_values')

      // 27 random bytes: the platform's own state is 36 URL-safe characters too.
      const platformState = randomToken(27)
      const interaction: PlatformInteraction = {
        kind: 'apim_authorize',
        api_key: application.api_key,
        redirect_uri: redirectUri,
        state,
        code_verifier: randomToken(32),
        nonce: randomToken(32),
      }
      const now = deps.now()
      await deps.store.interactions.put({ id: interactionIdOf(platformState), expires_at: now + PLATFORM_INTERACTION_TTL_MS, payload: { ...interaction } })
      const { settings } = deps.cis2
      return redirect(
        withQuery(settings.authorizationEndpoint, {
          response_type: 'code',
          client_id: settings.clientId,
          redirect_uri: platformCallbackUrl(deps.baseUrl),
          scope: 'openid nationalrbacaccess',
          state: platformState,
          max_age: '300',
          acr_values: typeof acrValues === 'string' ? acrValues : defaultAcrValues,
          nonce: interaction.nonce,
          code_challenge: createHash('sha256').update(interaction.code_verifier).digest('base64url'),
          code_challenge_method: 'S256',
        }),
      )
    },
  }
}
