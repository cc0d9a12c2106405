/**
 * The API Platform OAuth service's token endpoint, `POST /oauth2/token` (cis2.md 6.1), for every
 * grant: the combined pattern's authorization code (6.2 step 4), refresh (6.2 step 5), the separate
 * pattern's token exchange (6.3) and application-restricted client credentials (6.5).
 *
 * Before any grant, the request is sorted as NHS England's proxy sorts it (its /token flows, in
 * their order; cis2.md 6.7):
 * 1. a body that is not `application/x-www-form-urlencoded` → 415 `invalid_request` "Content-Type
 *    header must be application/x-www-form-urlencoded";
 * 2. `grant_type=client_credentials` (without an ID token subject) → client credentials;
 * 3. `subject_token_type` id_token → the token exchange, whatever the grant_type: its
 *    client_assertion_type is checked first, then a missing or other grant_type is 400
 *    `invalid_request` "grant_type is invalid" (not `unsupported_grant_type`);
 * 4. `authorization_code`, `refresh_token` → those grants;
 * 5. the token-exchange grant_type with any other subject_token_type → 400 "missing or invalid
 *    subject_token_type - must be 'urn:ietf:params:oauth:token-type:id_token'";
 * 6. any other grant_type → 400 `unsupported_grant_type` "grant_type is invalid"; none → 400
 *    `invalid_request` "grant_type is missing".
 * Then the core's token endpoint authenticates the application (platform_client_auth.ts) and runs
 * the grant. Every refusal carries the request's `message_id` (platform_errors.ts).
 */
import { createTokenEndpoint, Params, type RawParams } from '@careid/oidc'
import type { ApplicationRecord, ServiceRequest, ServiceRoute, Store } from '@careid/ports'
import { requireAssertionType } from './client_assertion.ts'
import { authorizationCodeGrant } from './grants/authorization_code.ts'
import { clientCredentialsGrant } from './grants/client_credentials.ts'
import { refreshTokenGrant } from './grants/refresh_token.ts'
import { idTokenType, tokenExchangeGrant, tokenExchangeGrantType } from './grants/token_exchange.ts'
import { createPlatformClientAuthenticator } from './platform_client_auth.ts'
import { PlatformRefusal, withMessageId } from '../platform_errors.ts'
import type { PlatformTokenResponse } from './platform_tokens.ts'
import type { Cis2Trust } from './subject_token.ts'

export interface PlatformTokenRouteDeps {
  store: Store
  now: () => number
  /** The platform's token URL, `https://{env}.api.service.nhs.uk/oauth2/token`: a client assertion's `aud`. */
  tokenUrl: string
  /** The platform environment's name; `live` honours no test reductions. */
  environment: string
  /** CIS2, whose ID tokens the token exchange accepts. */
  cis2: Cis2Trust
}

const formType = 'application/x-www-form-urlencoded'

/** The form's fields; step 1. */
function formOf(request: ServiceRequest): RawParams {
  if (request.contentType !== formType) throw new PlatformRefusal('invalid_request', `Content-Type header must be ${formType}`, 415)
  return (request.body ?? {}) as RawParams
}

/** Steps 2 to 6: refuses a request no grant takes, in the platform's words. */
function checkGrantType(params: Params): void {
  const grantType = params.get('grant_type')
  const subjectTokenType = params.get('subject_token_type')
  if (grantType === 'client_credentials' && subjectTokenType !== idTokenType) return
  if (subjectTokenType === idTokenType) {
    requireAssertionType(params)
    if (grantType !== tokenExchangeGrantType) throw new PlatformRefusal('invalid_request', 'grant_type is invalid', 400)
    return
  }
  if (grantType === 'authorization_code' || grantType === 'refresh_token') return
  if (grantType === tokenExchangeGrantType) throw new PlatformRefusal('invalid_request', `missing or invalid subject_token_type - must be '${idTokenType}'`, 400)
  if (grantType !== undefined) throw new PlatformRefusal('unsupported_grant_type', 'grant_type is invalid', 400)
  throw new PlatformRefusal('invalid_request', 'grant_type is missing', 400)
}

export function createPlatformTokenRoute(deps: PlatformTokenRouteDeps): ServiceRoute {
  const endpoint = createTokenEndpoint<PlatformTokenResponse, ApplicationRecord>({
    authenticateClient: createPlatformClientAuthenticator(deps),
    grants: [authorizationCodeGrant(deps), refreshTokenGrant(deps), tokenExchangeGrant(deps), clientCredentialsGrant(deps)],
  })
  return {
    method: 'POST',
    path: '/oauth2/token',
    async handle(request) {
      try {
        const params = formOf(request)
        checkGrantType(new Params(params))
        const json = await endpoint.handle({ params })
        // RFC 6749 5.1: a response with tokens "MUST include the HTTP Cache-Control response header field with a value of no-store".
        return { status: 200, headers: { 'cache-control': 'no-store', pragma: 'no-cache' }, json }
      } catch (error) {
        throw withMessageId(error)
      }
    },
  }
}
