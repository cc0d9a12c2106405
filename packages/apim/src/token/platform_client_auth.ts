/**
 * The platform's client authentication at its token endpoint: which way an application proves
 * itself depends on the grant (NHS England's proxy has one flow per grant):
 * - the combined pattern's `authorization_code` and every `refresh_token` grant: `client_id` (the
 *   API key) and `client_secret` in the form (cis2.md 6.2 steps 4-5). A missing `client_id` or
 *   `client_secret` is 401 `invalid_request` (cis2.md 6.7); an unknown key or a wrong secret is
 *   401 `invalid_client` "client_id or client_secret is invalid". The secret is compared in
 *   constant time with the stored SHA-256 of it, for unknown keys too, so the time taken does not
 *   tell which keys exist;
 * - the token exchange and client credentials: a signed JWT client assertion (client_assertion.ts).
 */
import { safeEqual, sha256, type ClientCredentials, type Params } from '@careid/oidc'
import type { ApplicationRecord, Store } from '@careid/ports'
import { createClientAssertionVerifier } from './client_assertion.ts'
import { PlatformRefusal } from '../platform_errors.ts'

/** The grants whose requests carry the application's secret; every other grant signs a JWT. */
const secretGrantTypes: readonly string[] = ['authorization_code', 'refresh_token']

/** Compared against when the key is unknown: the SHA-256 (base64url) of nothing any secret hashes to. */
const unknownKeyHash = 'x'.repeat(43)

export interface PlatformClientAuthDeps {
  store: Store
  now: () => number
  tokenUrl: string
}

export function createPlatformClientAuthenticator(deps: PlatformClientAuthDeps): (credentials: ClientCredentials) => Promise<ApplicationRecord> {
  const verifyClientAssertion = createClientAssertionVerifier(deps)

  async function bySecret(params: Params): Promise<ApplicationRecord> {
    const apiKey = params.get('client_id')
    if (apiKey === undefined) throw new PlatformRefusal('invalid_request', 'client_id is missing', 401)
    const application = await deps.store.apps.get(apiKey)
    const secret = params.get('client_secret')
    const matches = secret !== undefined && safeEqual(sha256(secret), application?.secret_hash ?? unknownKeyHash)
    // The platform checks the key first (VerifyAPIKey), then that a secret was sent, then the secret.
    if (application === undefined) throw new PlatformRefusal('invalid_client', 'client_id or client_secret is invalid', 401, { detail: 'unknown API key' })
    if (secret === undefined) throw new PlatformRefusal('invalid_request', 'client_secret is missing', 401)
    if (!matches) throw new PlatformRefusal('invalid_client', 'client_id or client_secret is invalid', 401, { detail: 'wrong secret' })
    return application
  }

  return async function authenticateApplication({ params }) {
    return secretGrantTypes.includes(params.get('grant_type') ?? '') ? bySecret(params) : verifyClientAssertion(params)
  }
}
