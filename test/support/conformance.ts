/**
 * What the OpenID conformance suite does as a relying party, for the conformance modules as tests:
 * build authorization requests by hand (so parameter order, method and content are ours to choose),
 * call the token endpoint with a chosen client authentication, check ID tokens the way the suite
 * does, and assert the two shapes of authorization error (redirect to the client, or a page).
 * Requests go through `fetch` with redirects off, so every status and Location is seen as sent.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload, type ProtectedHeaderParameters } from 'jose'
import { demoCredentials, demoWorkforce, type Person } from '@careid/domain'
import { form, type Browser, type Landing, type PageResult } from './browser.ts'
import type { TestCareid } from './careid.ts'
import { h1 } from './journey.ts'

/** Someone with one role and a password: signs in with one page and never sees the role picker. */
export const user: Person & { password: string } = (() => {
  const person = demoWorkforce.find((p) => p.positions.length === 1 && demoCredentials[p.uid] !== undefined)
  assert.ok(person, 'the demo workforce has someone with exactly one role and a password')
  return { ...person, password: (demoCredentials[person.uid] as { password: string }).password }
})()

/**
 * Password sign-in (AAL1_USERPASS): the one authenticator that needs no device, so flows stay
 * one page long. Careid's default, AAL3_ANY, needs authenticators that do not exist yet.
 */
export const passwordAcr = 'AAL1_USERPASS'

export function randomValue(): string {
  return randomBytes(16).toString('base64url')
}

/** A PKCE pair (RFC 7636 4.1, 4.2: S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/**
 * Where an endpoint of `careid` can be reached. The issuer is only a string: an instance started
 * with a foreign issuer (e.g. https://idp.example.test:443/...) serves the issuer's path on its own
 * origin, so the issuer prefix is swapped for origin + path. The default issuer maps to itself.
 */
export function reachable(careid: Pick<TestCareid, 'issuer' | 'origin'>, endpoint: string): string {
  assert.ok(endpoint.startsWith(careid.issuer), `${endpoint} is under the issuer`)
  return `${careid.origin}${new URL(careid.issuer).pathname}${endpoint.slice(careid.issuer.length)}`
}

/** The authorization endpoint with `params` in the order given (undefined values left out). */
export function authorizationUrl(careid: Pick<TestCareid, 'issuer' | 'origin'>, params: Record<string, string | undefined>): string {
  const url = new URL(reachable(careid, `${careid.issuer}/authorize`))
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value)
  return url.href
}

/**
 * Finishes a sign-in from wherever the browser landed: fills the password page until Careid
 * redirects out. Any other page is a failure (these flows never need a choice or a role).
 */
export async function passwordSignIn(browser: Browser, start: Landing, person: { username: string; password: string } = user): Promise<{ location: string; pages: PageResult[] }> {
  const pages: PageResult[] = []
  let landing = start
  for (let step = 0; step < 4; step++) {
    const page = landing.page
    if (page === undefined) return { location: landing.location as string, pages }
    pages.push(page)
    // The request may also allow a smartcard: the conformance suite's user signs in with the password.
    if (page.html.includes('/method"')) {
      const choice = form(page, '/method')
      landing = await browser.go(choice.action, { form: { ...choice.fields, method: 'password' } })
      continue
    }
    if (!page.html.includes('name="password"')) throw new Error(`unexpected page ${page.status} "${h1(page)}" at ${page.url}`)
    const f = form(page, '/authenticate')
    landing = await browser.go(f.action, { form: { ...f.fields, username: person.username, password: person.password } })
  }
  throw new Error('the sign-in did not finish')
}

export interface TokenResult {
  status: number
  headers: Headers
  body: Record<string, unknown>
}

export type ClientAuth =
  | { method: 'client_secret_basic'; client_id: string; client_secret: string }
  | { method: 'client_secret_post'; client_id: string; client_secret: string }
  /** Whatever the form already carries (client_assertion for private_key_jwt). */
  | { method: 'form' }

/** RFC 6749 2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
export function basicAuthorization(clientId: string, secret: string): string {
  const encode = (v: string) => encodeURIComponent(v).replaceAll('%20', '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`
}

/** A POST of `form` to a back-channel endpoint (token, introspection) with the client's authentication. */
export async function backChannel(url: string, fields: Record<string, string>, auth: ClientAuth): Promise<TokenResult> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  const body = new URLSearchParams(fields)
  if (auth.method === 'client_secret_basic') headers.authorization = basicAuthorization(auth.client_id, auth.client_secret)
  if (auth.method === 'client_secret_post') {
    body.set('client_id', auth.client_id)
    body.set('client_secret', auth.client_secret)
  }
  const response = await fetch(url, { method: 'POST', headers, body: body.toString(), redirect: 'manual' })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
}

/** A token endpoint error: the exact code and status, JSON, never a redirect (RFC 6749 5.2). */
export function assertTokenError(result: TokenResult, error: string, status = 400): void {
  assert.equal(result.status, status, JSON.stringify(result.body))
  assert.equal(result.body.error, error)
  assert.equal(result.headers.get('location'), null, 'no redirect')
  assert.match(result.headers.get('content-type') ?? '', /^application\/json/)
}

/** The query of a redirect to `redirectUri`, which must be exactly that URI plus added parameters. */
export function redirectParams(location: string | null | undefined, redirectUri: string): URLSearchParams {
  assert.ok(location, 'a redirect happened')
  const got = new URL(location)
  const expected = new URL(redirectUri)
  assert.equal(`${got.origin}${got.pathname}`, `${expected.origin}${expected.pathname}`, 'to the redirect URI')
  for (const [name, value] of expected.searchParams) assert.equal(got.searchParams.get(name), value, `the redirect URI's own ${name} is kept`)
  return got.searchParams
}

/** A successful authorization response: code, state echoed, iss (RFC 9207), no error. */
export function assertCodeRedirect(location: string | null | undefined, expected: { redirectUri: string; state?: string | undefined; issuer: string }): string {
  const params = redirectParams(location, expected.redirectUri)
  assert.equal(params.get('error'), null, `no error: ${params.get('error_description')}`)
  assert.equal(params.get('state'), expected.state ?? null, 'state echoed')
  assert.equal(params.get('iss'), expected.issuer, 'RFC 9207 iss')
  const code = params.get('code')
  assert.ok(code, 'a code')
  return code
}

/** An authorization error sent back to the client (RFC 6749 4.1.2.1): status, where, code, state, iss. */
export function assertErrorRedirect(
  response: Response,
  expected: { redirectUri: string; error: string; state?: string | undefined; issuer: string },
): URLSearchParams {
  assert.equal(response.status, 302, 'a redirect')
  const params = redirectParams(response.headers.get('location'), expected.redirectUri)
  assert.equal(params.get('error'), expected.error, params.get('error_description') ?? '')
  assert.equal(params.get('state'), expected.state ?? null, 'state echoed')
  assert.equal(params.get('iss'), expected.issuer, 'RFC 9207 iss')
  assert.equal(params.get('code'), null, 'no code')
  return params
}

/**
 * What the suite takes a screenshot of: an HTML error page, with the status and the error code,
 * and no redirect at all (RFC 6749 4.1.2.1: "MUST NOT automatically redirect the user-agent to the
 * invalid redirection URI"). Returns the page's h1.
 */
export async function assertErrorPage(response: Response, expected: { status: number; error: string }): Promise<string> {
  const html = await response.text()
  assert.equal(response.status, expected.status)
  assert.equal(response.headers.get('location'), null, 'no redirect')
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/)
  const title = h1({ status: response.status, url: response.url, html, headers: response.headers })
  assert.notEqual(title, '', 'the page has an h1')
  assert.ok(html.includes(`Error code: ${expected.error}`), `the page names ${expected.error}`)
  return title
}

export async function fetchJwks(url: string): Promise<JSONWebKeySet> {
  const response = await fetch(url)
  assert.equal(response.status, 200)
  return (await response.json()) as JSONWebKeySet
}

/** OIDC Core 3.1.3.6: the left half of the SHA-256 of the value, base64url. */
export function halfHash(value: string): string {
  const digest = createHash('sha256').update(value).digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

/**
 * ID token validation as the suite does it (OIDC Core 3.1.3.7): RS256 (no alg was requested), a
 * kid found in the JWKS, a valid signature, iss exactly the issuer, aud the client, exp in the
 * future, iat not in the future, the nonce sent (or none when none was sent), sub, and at_hash when
 * the access token is given.
 */
export async function verifyIdToken(
  careid: Pick<TestCareid, 'issuer' | 'origin'>,
  idToken: unknown,
  expected: { clientId: string; nonce?: string | undefined; sub?: string; accessToken?: string },
): Promise<{ payload: JWTPayload & Record<string, unknown>; header: ProtectedHeaderParameters }> {
  assert.equal(typeof idToken, 'string', 'an ID token')
  const token = idToken as string
  const header = decodeProtectedHeader(token)
  assert.equal(header.alg, 'RS256')
  assert.equal(typeof header.kid, 'string', 'kid in the header')
  const jwks = await fetchJwks(reachable(careid, `${careid.issuer}/connect/jwk_uri`))
  assert.ok(jwks.keys.some((k) => k.kid === header.kid), 'the kid is in the JWKS')
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: careid.issuer,
    audience: expected.clientId,
    algorithms: ['RS256'],
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
  })
  const now = Math.floor(Date.now() / 1000)
  assert.ok((payload.exp as number) > now, 'exp in the future')
  assert.ok((payload.iat as number) <= now + 5, 'iat not in the future')
  if (expected.nonce === undefined) assert.equal('nonce' in payload, false, 'no nonce when none was sent')
  else assert.equal(payload.nonce, expected.nonce)
  assert.equal(typeof payload.sub, 'string')
  if (expected.sub !== undefined) assert.equal(payload.sub, expected.sub)
  if (expected.accessToken !== undefined) assert.equal(payload.at_hash, halfHash(expected.accessToken))
  return { payload: payload as JWTPayload & Record<string, unknown>, header }
}

/** GET userinfo with a bearer header: the status and the parsed body (or the challenge). */
export async function userinfo(url: string, accessToken: string): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } })
  const text = await response.text()
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), challenge: response.headers.get('www-authenticate') }
}

/** Copies a browser's cookies, e.g. to present a session cookie again after the browser dropped it. */
export function copyCookies(from: Browser, to: Browser): Browser {
  for (const [name, value] of from.cookies) to.cookies.set(name, value)
  return to
}

/** Polls `check` until it holds (for background work such as logout delivery); fails after `ms`. */
export async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A redirect URI the test relying parties register; Careid never fetches it. */
export const callback = 'https://rp.example.test/callback'

export interface Rp {
  client_id: string
  client_secret: string
  redirect_uri: string
}

export interface Tokens {
  access_token: string
  id_token: string
  token_type: string
  expires_in: number
  scope: string
  refresh_token?: string
}

/** Authorization request parameters; undefined ones are left out of the request. */
export type AuthParams = Record<string, string | undefined>

export function basicAuth(rp: Rp): ClientAuth {
  return { method: 'client_secret_basic', client_id: rp.client_id, client_secret: rp.client_secret }
}

/** A relying party with a secret (client_secret_basic unless told), redirecting to `callback` unless told. */
export async function addRp(careid: TestCareid, metadata: Partial<Parameters<TestCareid['addClient']>[0]> = {}): Promise<Rp> {
  const redirect_uris = metadata.redirect_uris ?? [callback]
  const { client_id, client_secret } = await careid.addClient({ token_endpoint_auth_method: 'client_secret_basic', ...metadata, redirect_uris })
  assert.ok(client_secret)
  return { client_id, client_secret, redirect_uri: redirect_uris[0] as string }
}

/** The plans' authorization request (code flow, password sign-in); an override of undefined leaves a parameter out. */
export function authRequest(rp: Rp, overrides: AuthParams = {}): AuthParams {
  return {
    client_id: rp.client_id,
    redirect_uri: rp.redirect_uri,
    response_type: 'code',
    scope: 'openid',
    state: randomValue(),
    nonce: randomValue(),
    acr_values: passwordAcr,
    ...overrides,
  }
}

export function exchangeCode(careid: TestCareid, rp: Rp, code: string, extra: Record<string, string> = {}, auth: ClientAuth = basicAuth(rp)): Promise<TokenResult> {
  const url = reachable(careid, careid.provider.endpoints.token)
  return backChannel(url, { grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, ...extra }, auth)
}

/** Sends the browser to the authorization endpoint (GET, or POST as a form) and signs in if Careid asks. */
export async function authorize(careid: TestCareid, browser: Browser, rp: Rp, params: AuthParams, method: 'GET' | 'POST' = 'GET'): Promise<{ code: string; pages: PageResult[] }> {
  const fields = Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined))
  const landing = method === 'GET' ? await browser.go(authorizationUrl(careid, params)) : await browser.go(reachable(careid, careid.provider.endpoints.authorization), { form: fields })
  const { location, pages } = await passwordSignIn(browser, landing)
  return { code: assertCodeRedirect(location, { redirectUri: rp.redirect_uri, state: params.state, issuer: careid.issuer }), pages }
}

/** The plans' happy flow: authorize, exchange the code (client_secret_basic unless told), check the ID token. */
export async function codeFlow(
  careid: TestCareid,
  browser: Browser,
  rp: Rp,
  params: AuthParams = authRequest(rp),
  options: { extra?: Record<string, string>; auth?: ClientAuth; method?: 'GET' | 'POST' } = {},
) {
  const { code, pages } = await authorize(careid, browser, rp, params, options.method)
  const result = await exchangeCode(careid, rp, code, options.extra, options.auth)
  assert.equal(result.status, 200, JSON.stringify(result.body))
  const tokens = result.body as unknown as Tokens
  const { payload: claims, header } = await verifyIdToken(careid, tokens.id_token, { clientId: rp.client_id, nonce: params.nonce, sub: user.uid, accessToken: tokens.access_token })
  return { code, pages, tokens, claims, header, result }
}
