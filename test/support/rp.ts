/**
 * A confidential relying party for end-to-end tests that speaks to Careid in plain HTTP, without an
 * OpenID library, so a test sees every parameter and byte: it builds authorization URLs, redeems
 * codes with client_secret_post, checks ID token signatures against the published JWKS, and calls
 * userinfo. Checks of the claims themselves are left to the tests.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload, type ProtectedHeaderParameters } from 'jose'
import type { TestCareid } from './careid.ts'

export interface TestRp {
  careid: TestCareid
  client_id: string
  client_secret: string
  redirect_uri: string
}

/**
 * Where Careid's issuer path is reached: the test server's origin plus the issuer's path. The
 * issuer itself may name a host that does not resolve (an https issuer in front of a plain test
 * server).
 */
export function baseUrl(careid: TestCareid): string {
  return `${careid.origin}${new URL(careid.issuer).pathname}`
}

/** Registers a client_secret_post relying party with one redirect URI. */
export async function addRp(
  careid: TestCareid,
  options: { backchannel_logout_uri?: string | undefined; post_logout_redirect_uris?: string[] | undefined; client_name?: string | undefined } = {},
): Promise<TestRp> {
  const redirect_uri = `https://rp${Math.floor(Math.random() * 1e9)}.example.test/callback`
  const { client_id, client_secret } = await careid.addClient({
    // addClient names the client itself when no name is given (an explicit undefined would not).
    ...(options.client_name === undefined ? {} : { client_name: options.client_name }),
    redirect_uris: [redirect_uri],
    post_logout_redirect_uris: options.post_logout_redirect_uris,
    backchannel_logout_uri: options.backchannel_logout_uri,
    token_endpoint_auth_method: 'client_secret_post',
  })
  return { careid, client_id, client_secret: client_secret as string, redirect_uri }
}

/** An authorization request URL (response_type=code) with the given parameters; undefined ones are left out. */
export function authorizeUrl(rp: TestRp, params: Record<string, string | undefined>): string {
  const url = new URL(`${baseUrl(rp.careid)}/authorize`)
  const all: Record<string, string | undefined> = { response_type: 'code', client_id: rp.client_id, redirect_uri: rp.redirect_uri, ...params }
  for (const [key, value] of Object.entries(all)) if (value !== undefined) url.searchParams.set(key, value)
  return url.href
}

/** The query of a redirect to the relying party, after checking it went to this RP's redirect URI. */
export function callbackParams(rp: TestRp, location: string | undefined): URLSearchParams {
  assert.ok(location !== undefined, 'expected a redirect to the relying party')
  const url = new URL(location)
  assert.equal(`${url.origin}${url.pathname}`, rp.redirect_uri, `redirected to ${location}`)
  return url.searchParams
}

/** OIDC Core 3.1.3.6: base64url of the left half of the SHA-256 of the ASCII value (RS256). */
export function halfHash(value: string): string {
  return createHash('sha256').update(value, 'ascii').digest().subarray(0, 16).toString('base64url')
}

export interface Jwks {
  keys: Array<Record<string, unknown> & { kid?: string }>
}

export async function fetchJwks(careid: TestCareid): Promise<Jwks> {
  const response = await fetch(`${baseUrl(careid)}/connect/jwk_uri`)
  assert.equal(response.status, 200)
  return (await response.json()) as Jwks
}

/** Verifies a JWT Careid signed: signature against the JWKS, RS256 only, and not expired. */
export async function verifyJwt(careid: TestCareid, jwt: string): Promise<{ payload: JWTPayload; header: ProtectedHeaderParameters }> {
  const jwks = createLocalJWKSet((await fetchJwks(careid)) as unknown as JSONWebKeySet)
  const { payload } = await jwtVerify(jwt, jwks, { algorithms: ['RS256'] })
  return { payload, header: decodeProtectedHeader(jwt) }
}

export interface RedeemedTokens {
  /** The token response as sent. */
  body: Record<string, unknown>
  access_token: string
  id_token: string
  /** The code that was redeemed (for c_hash). */
  code: string
  /** The ID token, signature verified. */
  id: JWTPayload
  idHeader: ProtectedHeaderParameters
}

/** Redeems the code in `location` at the token endpoint (client_secret_post). */
export async function redeem(rp: TestRp, location: string | undefined): Promise<RedeemedTokens> {
  const params = callbackParams(rp, location)
  const code = params.get('code')
  assert.ok(code !== null, `no code in ${location}: ${params.get('error')} ${params.get('error_description')}`)
  const response = await fetch(`${baseUrl(rp.careid)}/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, client_id: rp.client_id, client_secret: rp.client_secret }).toString(),
  })
  const body = (await response.json()) as Record<string, unknown>
  assert.equal(response.status, 200, JSON.stringify(body))
  const { access_token, id_token } = body
  assert.equal(typeof access_token, 'string')
  assert.equal(typeof id_token, 'string')
  const { payload, header } = await verifyJwt(rp.careid, id_token as string)
  return { body, access_token: access_token as string, id_token: id_token as string, code, id: payload, idHeader: header }
}

/** GET userinfo with the access token as a Bearer token; asserts 200. */
export async function userinfo(careid: TestCareid, accessToken: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${baseUrl(careid)}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
  const body = (await response.json()) as Record<string, unknown>
  assert.equal(response.status, 200, JSON.stringify(body))
  return body
}
