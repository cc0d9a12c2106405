/**
 * Validation of an authorization request (RFC 6749 4.1.1, OIDC Core 3.1.2.1), in two phases:
 *
 * 1. Client and redirect URI. Until both are known good nothing may be sent to the redirect URI
 *    (RFC 6749 4.1.2.1), so these errors are shown as a page. The redirect URI must match a
 *    registered one exactly, query included; it may be omitted only when exactly one is registered.
 * 2. Everything else; these errors go back to the (now trusted) redirect URI.
 */
import type { ClientRecord } from '@careid/ports'
import { requestedAcrs, type Acr } from './acr.ts'
import type { ClientRegistry } from './clients.ts'
import {
  InvalidClientId,
  InvalidRedirectUri,
  InvalidRequest,
  InvalidScope,
  OAuthError,
  RegistrationNotSupported,
  RequestNotSupported,
  RequestUriNotSupported,
  UnknownClient,
  UnsupportedResponseType,
} from './errors.ts'
import { spaceList, type Params } from './params.ts'
import { grantedScopes } from './scopes.ts'

export type Prompt = 'none' | 'login'

export interface TrustedRedirect {
  client: ClientRecord
  redirect_uri: string
  /** Whether redirect_uri was in the request (then the token request must repeat it). */
  redirect_uri_given: boolean
  /** Echoed on error redirects; dropped if it was repeated. */
  state?: string | undefined
}

export interface AuthorizationRequest extends TrustedRedirect {
  scopes: string[]
  nonce?: string | undefined
  code_challenge?: string | undefined
  prompt: ReadonlySet<Prompt>
  /** Seconds. */
  max_age?: number | undefined
  acr_values: Acr[]
  login_hint?: string | undefined
  /** The `sub` of a valid id_token_hint. */
  id_token_hint_sub?: string | undefined
  ui_locales: string[]
}

/** Bounds on free-text values, so a request cannot make us store or echo megabytes. */
const maxLength = 2048

/** RFC 7636 4.1: code_challenge is BASE64URL(SHA256(verifier)): 43 characters. */
const s256Challenge = /^[A-Za-z0-9_-]{43}$/

/** A loopback IP redirect URI (RFC 8252 7.3): `http://127.0.0.1` or `http://[::1]`, its port, and the rest. */
const loopbackIpRedirect = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?([/?].*)?$/

/** A loopback IP redirect URI without its port; undefined for any other URI, or a port no socket has. */
function withoutLoopbackPort(uri: string): string | undefined {
  const match = loopbackIpRedirect.exec(uri)
  if (match === null || Number(match[2] ?? 0) > 65_535) return undefined
  return `http://${match[1]}${match[3] ?? ''}`
}

/**
 * Whether `given` is one of the client's redirect URIs, compared exactly, but for the port of a
 * loopback IP redirect URI: RFC 8252 7.3, "The authorization server MUST allow any port to be
 * specified at the time of the request for loopback IP redirect URIs, to accommodate clients that
 * obtain an available ephemeral port from the operating system at the time of the request." The
 * rest of such a URI (path and query) is still compared exactly; `localhost` is not a loopback IP
 * literal (RFC 8252 8.3), so its port counts.
 */
function isRegisteredRedirect(registered: readonly string[], given: string): boolean {
  if (registered.includes(given)) return true
  const portless = withoutLoopbackPort(given)
  return portless !== undefined && registered.some((uri) => withoutLoopbackPort(uri) === portless)
}

export async function resolveRedirect(params: Params, clients: ClientRegistry): Promise<TrustedRedirect> {
  if (params.repeated('client_id')) throw new InvalidClientId("'client_id' parameter must not be provided more than once")
  if (params.repeated('redirect_uri')) throw new InvalidRedirectUri("'redirect_uri' parameter must not be provided more than once")
  const clientId = params.get('client_id')
  if (clientId === undefined) throw new InvalidClientId("missing required parameter 'client_id'")
  const client = await clients.get(clientId)
  if (client === undefined) throw new UnknownClient('the client is not registered')

  const given = params.get('redirect_uri')
  let redirectUri: string
  if (given === undefined) {
    const only = client.redirect_uris.length === 1 ? client.redirect_uris[0] : undefined
    if (only === undefined) throw new InvalidRedirectUri("missing required parameter 'redirect_uri'")
    redirectUri = only
  } else {
    // Exact string comparison (but a loopback IP port): no normalisation, so an added or changed query is refused.
    if (!isRegisteredRedirect(client.redirect_uris, given)) throw new InvalidRedirectUri('redirect_uri is not registered for this client')
    redirectUri = given
  }
  const state = params.repeated('state') ? undefined : params.get('state')
  return { client, redirect_uri: redirectUri, redirect_uri_given: given !== undefined, state: state?.slice(0, maxLength) }
}

export interface RequestDeps {
  /** Verifies an id_token_hint we issued (signature only; it may have expired) and returns its sub. */
  hintSubject(idTokenHint: string): string | undefined
}

export function validateRequest(params: Params, trusted: TrustedRedirect, deps: RequestDeps): AuthorizationRequest {
  if (params.repeated('state')) throw new InvalidRequest("'state' parameter must not be provided more than once")
  // The echo is cut at maxLength; carried on, the response's state would not be "the exact value
  // received from the client" (RFC 6749 4.1.2), so the client learns why now rather than never.
  if ((params.get('state')?.length ?? 0) > maxLength) throw new InvalidRequest('state is too long')
  if (params.has('request')) throw new RequestNotSupported('request objects are not supported')
  if (params.has('request_uri')) throw new RequestUriNotSupported('request_uri is not supported')
  if (params.has('registration')) throw new RegistrationNotSupported('registration parameter is not supported')

  const responseType = params.get('response_type')
  if (responseType === undefined) throw new InvalidRequest("missing required parameter 'response_type'")
  // CIS2 supports the authorization code flow only (cis2.md 1.3).
  if (responseType !== 'code') throw new UnsupportedResponseType('only response_type=code is supported')
  const responseMode = params.get('response_mode')
  if (responseMode !== undefined && responseMode !== 'query') throw new InvalidRequest('only response_mode=query is supported')

  const requested = spaceList(params.get('scope'))
  // OIDC Core 3.1.2.1: "OpenID Connect requests MUST contain the openid scope value."
  if (!requested.includes('openid')) throw new InvalidScope("scope must include 'openid'")
  const scopes = grantedScopes(requested)

  const prompt = new Set<Prompt>()
  for (const value of spaceList(params.get('prompt'))) {
    if (value !== 'none' && value !== 'login') throw new InvalidRequest(`unsupported prompt value '${value.slice(0, 40)}'`)
    prompt.add(value)
  }
  // OIDC Core 3.1.2.1: "If this parameter contains none with any other value, an error is returned."
  if (prompt.has('none') && prompt.size > 1) throw new InvalidRequest("prompt 'none' must not be combined with other values")

  const maxAgeRaw = params.get('max_age')
  let maxAge: number | undefined
  if (maxAgeRaw !== undefined) {
    if (!/^\d{1,10}$/.test(maxAgeRaw)) throw new InvalidRequest('max_age must be a non-negative integer')
    maxAge = Number(maxAgeRaw)
  }

  const challenge = params.get('code_challenge')
  const method = params.get('code_challenge_method')
  if (challenge === undefined) {
    if (method !== undefined) throw new InvalidRequest('code_challenge_method given without code_challenge')
    // Public clients have no secret, so PKCE is all that binds the code to them.
    if (trusted.client.token_endpoint_auth_method === 'none') throw new InvalidRequest('PKCE code_challenge is required for this client')
  } else {
    if (method === undefined || method === 'plain') throw new InvalidRequest('code_challenge_method must be S256')
    if (method !== 'S256') throw new InvalidRequest('unsupported code_challenge_method')
    if (!s256Challenge.test(challenge)) throw new InvalidRequest('code_challenge must be 43 base64url characters')
  }

  const nonce = params.get('nonce')
  if (nonce !== undefined && nonce.length > maxLength) throw new InvalidRequest('nonce is too long')

  const hint = params.get('id_token_hint')
  let hintSub: string | undefined
  if (hint !== undefined) {
    hintSub = deps.hintSubject(hint)
    if (hintSub === undefined) throw new InvalidRequest('id_token_hint is not a valid ID token issued by this provider')
  }
  const loginHint = params.get('login_hint')

  return {
    ...trusted,
    scopes,
    nonce,
    code_challenge: challenge,
    prompt,
    max_age: maxAge,
    acr_values: requestedAcrs(spaceList(params.get('acr_values'))),
    login_hint: loginHint !== undefined && loginHint.length <= 256 ? loginHint : undefined,
    id_token_hint_sub: hintSub,
    ui_locales: spaceList(params.get('ui_locales')).slice(0, 10),
  }
}

/** The location for an authorization response or error on a trusted redirect URI (RFC 9207 adds `iss`). */
export function redirectTo(redirectUri: string, values: Record<string, string | undefined>, issuer: string): string {
  return withQuery(redirectUri, { ...values, iss: issuer })
}

/** Adds parameters to a URI's query, keeping any query it already has. */
export function withQuery(uri: string, values: Record<string, string | undefined>): string {
  const url = new URL(uri)
  for (const [key, value] of Object.entries(values)) if (value !== undefined) url.searchParams.append(key, value)
  return url.href
}

export function errorRedirect(trusted: TrustedRedirect, error: OAuthError, issuer: string): string {
  return redirectTo(trusted.redirect_uri, { error: error.error, error_description: error.error_description, state: trusted.state }, issuer)
}
