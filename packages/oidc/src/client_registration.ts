/**
 * Registering a relying party (what `careid clients add` does), with the checks OpenID Connect
 * Dynamic Client Registration 1.0 and CIS2 put on client metadata:
 * - redirect URIs absolute, without fragment (RFC 6749 3.1.2: "MUST NOT include a fragment"),
 *   https except loopback http for native apps and local development (cis2.md 1.4);
 * - private_key_jwt needs the client's keys (jwks_uri or jwks) and a signing algorithm;
 * - web origins (CORS) exactly as browsers send them, under the redirect URIs' https rule; when
 *   none are listed, the redirect URIs' origins apply (web_origins.ts);
 * - client ids shaped like CIS2's (`NNNNNNNNNNNN.apps.national`), generated if not given;
 * - secrets generated here (256 bits), returned once, stored only as a SHA-256 hash.
 */
import { randomInt } from 'node:crypto'
import type { ClientAssertionAlg, ClientRecord, Json, TokenEndpointAuthMethod } from '@careid/ports'
import { clientIdPattern } from './clients.ts'
import { randomToken, sha256 } from './crypto.ts'
import { isSerializedOrigin } from './web_origins.ts'
import { clientAuthMethodsSupported, clientAuthSigningAlgsSupported } from './discovery.ts'

export interface ClientMetadata {
  client_id?: string | undefined
  client_name: string
  redirect_uris: string[]
  post_logout_redirect_uris?: string[] | undefined
  backchannel_logout_uri?: string | undefined
  token_endpoint_auth_method: string
  jwks_uri?: string | undefined
  jwks?: unknown
  token_endpoint_auth_signing_alg?: string | undefined
  refresh_tokens?: boolean | undefined
  web_origins?: string[] | undefined
}

/** Invalid client metadata (RFC 7591 3.2.2 `invalid_client_metadata` / `invalid_redirect_uri`). */
export class InvalidClientMetadata extends Error {
  override name = 'InvalidClientMetadata'
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * What is wrong with a URI a registration gives (a redirect URI, a JWKS URI...), or undefined: it
 * must be absolute, without a fragment, and https except on the loopback host. `kind` names it in
 * the message, and `noun` what the registration calls such a thing (the API Platform says URL).
 * Shared by every registration that takes such URIs.
 */
export function registeredUriProblem(kind: string, value: string, noun: 'URI' | 'URL' = 'URI'): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `${kind} is not an absolute ${noun}: ${value}`
  }
  if (url.hash !== '' || value.includes('#')) return `${kind} must not have a fragment: ${value}`
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:' && loopbackHosts.has(url.hostname)) return undefined
  return `${kind} must use https (http is allowed only on localhost): ${value}`
}

function checkUri(kind: string, value: string): void {
  const problem = registeredUriProblem(kind, value)
  if (problem !== undefined) throw new InvalidClientMetadata(problem)
}

export function generateClientId(): string {
  let digits = String(randomInt(1, 10))
  for (let i = 1; i < 12; i++) digits += String(randomInt(0, 10))
  return `${digits}.apps.national`
}

export function registerClient(metadata: ClientMetadata, nowMs: number): { client: ClientRecord; client_secret?: string } {
  const clientId = metadata.client_id ?? generateClientId()
  if (!clientIdPattern.test(clientId)) throw new InvalidClientMetadata(`client_id must look like 123456789012.apps.national: ${clientId}`)
  if (metadata.client_name.trim() === '') throw new InvalidClientMetadata('client_name must not be empty')
  if (metadata.redirect_uris.length === 0) throw new InvalidClientMetadata('at least one redirect URI is required')
  for (const uri of metadata.redirect_uris) checkUri('redirect URI', uri)
  const postLogout = metadata.post_logout_redirect_uris ?? []
  for (const uri of postLogout) checkUri('post-logout redirect URI', uri)
  if (metadata.backchannel_logout_uri !== undefined) checkUri('back-channel logout URI', metadata.backchannel_logout_uri)
  for (const origin of metadata.web_origins ?? []) {
    if (!isSerializedOrigin(origin)) throw new InvalidClientMetadata(`web origin must be scheme://host[:port] alone, as a browser sends it: ${origin}`)
    checkUri('web origin', origin)
  }

  const method = metadata.token_endpoint_auth_method
  if (!(clientAuthMethodsSupported as readonly string[]).includes(method)) {
    throw new InvalidClientMetadata(`token endpoint auth method must be one of ${clientAuthMethodsSupported.join(', ')}`)
  }
  const client: ClientRecord = {
    client_id: clientId,
    client_name: metadata.client_name.trim(),
    redirect_uris: [...new Set(metadata.redirect_uris)],
    post_logout_redirect_uris: [...new Set(postLogout)],
    backchannel_logout_uri: metadata.backchannel_logout_uri,
    token_endpoint_auth_method: method as TokenEndpointAuthMethod,
    refresh_tokens: metadata.refresh_tokens ?? false,
    created_at: nowMs,
  }
  if (metadata.web_origins !== undefined) client.web_origins = [...new Set(metadata.web_origins)]
  if (method === 'private_key_jwt') {
    const alg = metadata.token_endpoint_auth_signing_alg ?? 'RS256'
    if (!(clientAuthSigningAlgsSupported as readonly string[]).includes(alg)) {
      throw new InvalidClientMetadata(`signing algorithm must be one of ${clientAuthSigningAlgsSupported.join(', ')}`)
    }
    client.token_endpoint_auth_signing_alg = alg as ClientAssertionAlg
    if ((metadata.jwks_uri === undefined) === (metadata.jwks === undefined)) {
      throw new InvalidClientMetadata('private_key_jwt needs exactly one of a JWKS URI or an inline JWKS')
    }
    if (metadata.jwks_uri !== undefined) {
      checkUri('JWKS URI', metadata.jwks_uri)
      client.jwks_uri = metadata.jwks_uri
    } else {
      client.jwks = checkJwks(metadata.jwks)
    }
    return { client }
  }
  if (metadata.jwks_uri !== undefined || metadata.jwks !== undefined) throw new InvalidClientMetadata('keys are only used with private_key_jwt')
  if (method === 'none') return { client }
  const secret = randomToken(32)
  client.client_secret_hash = sha256(secret)
  return { client, client_secret: secret }
}

/** A public JWKS: keys with kty, and no private parts. */
function checkJwks(value: unknown): { keys: Json[] } {
  const keys = (value as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.length === 0) throw new InvalidClientMetadata('JWKS must be an object with a non-empty "keys" array')
  for (const key of keys) {
    if (key === null || typeof key !== 'object' || typeof (key as { kty?: unknown }).kty !== 'string') throw new InvalidClientMetadata('every JWK needs a "kty"')
    if ('d' in key) throw new InvalidClientMetadata('the JWKS contains a private key; register public keys only')
  }
  return { keys: keys as Json[] }
}
