/**
 * Registering an application with the API Platform (what `careid apps add` does), as the NHS
 * developer portal does it (cis2.md 6):
 * - an API key in the platform's shape (32 letters and digits), which is the application's
 *   `client_id` at the platform's OAuth 2.0 service, generated here;
 * - a secret (for the combined pattern's token requests and refreshes) generated here, returned
 *   once, stored only as a SHA-256 hash, as Careid's own client secrets are;
 * - callback URLs under the rule Careid's redirect URIs keep: absolute, no fragment (RFC 6749
 *   3.1.2), https except on localhost;
 * - the application's public keys, as a JWKS URL or inline: the separate pattern and
 *   application-restricted access authenticate with RS512 client assertions whose `kid` "must
 *   match a key in the app's registered JWKS", so each key is an RSA public key with a kid;
 * - the product scopes it subscribes to, each one a scope of a product in the catalogue; an
 *   application-restricted (`level3`) scope needs the keys, since it is reached only with a signed JWT.
 */
import { randomInt } from 'node:crypto'
import { randomToken, registeredUriProblem, sha256 } from '@careid/oidc'
import type { ApplicationRecord, Json, ProductSubscription } from '@careid/ports'
import { apiProducts, applicationRestrictedPrefix, knownScopes, productOfScope } from './catalogue.ts'

export interface ApplicationRegistration {
  name: string
  callback_urls: string[]
  jwks_uri?: string | undefined
  /** A JWKS as parsed JSON, checked here. */
  jwks?: unknown
  /** Product scopes, e.g. `urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service`. */
  scopes: string[]
}

export interface RegisteredApplication {
  application: ApplicationRecord
  /** Shown once, never stored (only its hash is). */
  secret: string
}

/** A registration that cannot be made as asked; the message says why and holds no secret. */
export class InvalidApplication extends Error {
  override name = 'InvalidApplication'
}

/** The platform's API keys: 32 letters and digits. */
export const apiKeyPattern = /^[A-Za-z0-9]{32}$/

const alphanumerics = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A new API key: 32 letters and digits drawn uniformly (about 190 bits). */
export function generateApiKey(): string {
  let key = ''
  for (let i = 0; i < 32; i++) key += alphanumerics[randomInt(alphanumerics.length)]
  return key
}

function checkUrl(kind: string, value: string): void {
  const problem = registeredUriProblem(kind, value, 'URL')
  if (problem !== undefined) throw new InvalidApplication(problem)
}

/** A public JWKS of RSA keys, each with a kid of its own, for RS512 client assertions. */
function checkJwks(value: unknown): { keys: Json[] } {
  const keys = (value as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0) throw new InvalidApplication('JWKS must be an object with a non-empty "keys" array')
  const kids = new Set<string>()
  for (const key of keys) {
    if (key === null || typeof key !== 'object' || Array.isArray(key)) throw new InvalidApplication('every JWK must be a JSON object')
    const jwk = key as Record<string, unknown>
    if ('d' in jwk || 'p' in jwk || 'q' in jwk) throw new InvalidApplication('the JWKS contains a private key; register public keys only')
    if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
      throw new InvalidApplication('every JWK must be an RSA public key ("kty": "RSA" with "n" and "e"): client assertions are signed with RS512')
    }
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new InvalidApplication('every JWK needs a "kid": a client assertion names its key by kid')
    if (jwk.alg !== undefined && jwk.alg !== 'RS512') throw new InvalidApplication(`the JWK ${jwk.kid} is for ${String(jwk.alg)}; client assertions are signed with RS512`)
    if (kids.has(jwk.kid)) throw new InvalidApplication(`two JWKs share the kid ${jwk.kid}`)
    kids.add(jwk.kid)
  }
  return { keys: keys as Json[] }
}

/** The scopes grouped by product, both in catalogue order, each once. */
function subscriptionsOf(scopes: string[]): ProductSubscription[] {
  for (const scope of scopes) {
    if (productOfScope(scope) === undefined) throw new InvalidApplication(`unknown product scope ${scope}; known scopes: ${knownScopes().join(', ')}`)
  }
  return apiProducts
    .map((product) => ({ product: product.id, scopes: product.scopes.filter((scope) => scopes.includes(scope)) }))
    .filter((subscription) => subscription.scopes.length > 0)
}

/** Checks a registration and makes the application, with its API key and secret. */
export function registerApplication(registration: ApplicationRegistration, nowMs: number): RegisteredApplication {
  const name = registration.name.trim()
  if (name === '') throw new InvalidApplication('the application needs a name')
  if (registration.callback_urls.length === 0) throw new InvalidApplication('at least one callback URL is required')
  for (const url of registration.callback_urls) checkUrl('callback URL', url)
  if (registration.jwks_uri !== undefined && registration.jwks !== undefined) throw new InvalidApplication('give a JWKS URL or an inline JWKS, not both')
  if (registration.jwks_uri !== undefined) checkUrl('JWKS URL', registration.jwks_uri)
  const jwks = registration.jwks === undefined ? undefined : checkJwks(registration.jwks)
  if (registration.scopes.length === 0) throw new InvalidApplication('at least one product scope is required')
  const subscriptions = subscriptionsOf(registration.scopes)
  const hasKeys = registration.jwks_uri !== undefined || jwks !== undefined
  const unsigned = registration.scopes.find((scope) => scope.startsWith(applicationRestrictedPrefix))
  if (unsigned !== undefined && !hasKeys) {
    throw new InvalidApplication(`${unsigned} is application-restricted, reached only with a signed JWT: give the application's public keys (a JWKS URL or an inline JWKS)`)
  }

  const secret = randomToken(32)
  const application: ApplicationRecord = {
    api_key: generateApiKey(),
    name,
    secret_hash: sha256(secret),
    callback_urls: [...new Set(registration.callback_urls)],
    subscriptions,
    created_at: nowMs,
  }
  if (registration.jwks_uri !== undefined) application.jwks_uri = registration.jwks_uri
  if (jwks !== undefined) application.jwks = jwks
  return { application, secret }
}
