/**
 * The relying party and the browser, as the load generator plays them: authorization requests with
 * PKCE S256, a cookie jar, redirects followed while they stay on the server, the sign-in form
 * filled in, codes redeemed with client_secret_post, userinfo called with the bearer token; spread
 * over a scaled-out server's nodes in turn. Everything goes through fetch (undici's keep-alive pool) with a timeout on every request.
 */
import { createHash, randomBytes } from 'node:crypto'
import { CookieJar } from '../test/support/cookie_jar.ts'
import type { ClientCredentials, Target } from './target.ts'

const requestTimeoutMs = 15_000

/** One verifier for the whole run: the challenge is what each authorization request carries. */
const codeVerifier = randomBytes(32).toString('base64url')
const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url')

class HttpError extends Error {
  override name = 'HttpError'
}

let turn = 0

/**
 * Where a request for `url` goes: to the target's nodes in turn, as a round-robin load balancer in
 * front of them would send it (every step of a journey may land on another node).
 */
function onNode(target: Target, url: string): string {
  if (target.nodes.length === 1 || !url.startsWith(`${target.origin}/`)) return url
  const node = target.nodes[turn++ % target.nodes.length] as string
  return node + url.slice(target.origin.length)
}

/** `url` (under the issuer) on every node of the target, for loads that spread connections over them. */
export function onEveryNode(target: Target, url: string): string[] {
  return target.nodes.map((node) => node + url.slice(target.origin.length))
}

async function send(target: Target, url: string, init: RequestInit & { jar?: CookieJar }): Promise<Response> {
  const headers = { ...(init.headers as Record<string, string> | undefined), ...init.jar?.header() }
  const response = await fetch(onNode(target, url), { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(requestTimeoutMs) })
  init.jar?.store(response.headers)
  return response
}

async function failure(response: Response, what: string): Promise<HttpError> {
  const body = (await response.text()).replace(/\s+/g, ' ').slice(0, 200)
  return new HttpError(`${what}: HTTP ${response.status} ${body}`)
}

function authorizationUrl(target: Target, client: ClientCredentials): string {
  const url = new URL(target.endpoints.authorization)
  const params = {
    client_id: client.client_id,
    redirect_uri: target.redirectUri,
    response_type: 'code',
    scope: 'openid profile',
    state: randomBytes(12).toString('base64url'),
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    ...target.authorizeParams,
  }
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value)
  return url.href
}

interface Landing {
  /** Where a redirect left the server (to the relying party). */
  location?: string
  page?: { url: string; html: string }
}

/** Requests `url`, following redirects (at most 8) while they stay on the server. */
async function go(target: Target, jar: CookieJar, url: string, init: RequestInit = {}): Promise<Landing> {
  let response = await send(target, url, { ...init, jar })
  let current = url
  for (let hops = 0; hops < 8; hops++) {
    const location = response.headers.get('location')
    if (response.status < 300 || response.status > 399 || location === null) {
      if (response.status !== 200) throw await failure(response, `page ${new URL(current).pathname}`)
      return { page: { url: current, html: await response.text() } }
    }
    await response.body?.cancel()
    const next = new URL(location, current).href
    if (!next.startsWith(`${target.origin}/`)) return { location: next }
    current = next
    response = await send(target, next, { jar })
  }
  throw new HttpError('too many redirects')
}

function codeFrom(target: Target, landing: Landing): string {
  const code = landing.location?.startsWith(target.redirectUri) === true ? new URL(landing.location).searchParams.get('code') : null
  if (code === null) throw new HttpError(`expected a code at the redirect URI, got ${landing.location ?? `a page at ${landing.page?.url}`}`)
  return code
}

/** The form of a page that holds `field` (e.g. `name="password"`): where it posts and its hidden fields. */
function formWith(page: { url: string; html: string }, field: RegExp): { action: string; fields: Record<string, string> } {
  for (const m of page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, open = '', inner = ''] = m
    if (!field.test(inner)) continue
    const fields: Record<string, string> = {}
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      const tag = input[0]
      if (!/type="hidden"/i.test(tag)) continue
      const name = /\sname="([^"]*)"/.exec(tag)?.[1]
      if (name !== undefined) fields[name] = (/\svalue="([^"]*)"/.exec(tag)?.[1] ?? '').replaceAll('&amp;', '&')
    }
    const action = (/\saction="([^"]*)"/.exec(open)?.[1] ?? page.url).replaceAll('&amp;', '&')
    return { action: new URL(action, page.url).href, fields }
  }
  throw new HttpError(`no form with ${field.source} on ${page.url}`)
}

const formPost = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } }

/** A first sign-in in `jar`'s browser: authorize, the form, the password posted; returns the code. */
export async function signIn(target: Target, client: ClientCredentials, jar: CookieJar): Promise<string> {
  const first = await go(target, jar, authorizationUrl(target, client))
  if (first.page === undefined) throw new HttpError(`expected the sign-in page, was sent to ${first.location}`)
  const form = formWith(first.page, /name="password"/)
  const body = new URLSearchParams({ ...form.fields, username: target.user.username, password: target.user.password })
  const landing = await go(target, jar, form.action, { ...formPost, body: body.toString() })
  return codeFrom(target, landing)
}

/**
 * A first sign-in at AAL2 in `jar`'s browser: the authenticator app chosen where a choice is
 * offered, the password and then `totpCode` given as asked, the only role taken if a picker shows;
 * returns the code.
 */
export async function signInWithApp(target: Target, client: ClientCredentials, jar: CookieJar, totpCode: string): Promise<string> {
  let landing = await go(target, jar, authorizationUrl(target, client))
  for (let step = 0; step < 6 && landing.page !== undefined; step++) {
    const page = landing.page
    const [field, values] = /name="method"/.test(page.html)
      ? [/name="method"/, { method: 'totp' }]
      : /name="password"/.test(page.html)
        ? [/name="password"/, { username: target.user.username, password: target.user.password }]
        : /name="code"/.test(page.html)
          ? [/name="code"/, { code: totpCode }]
          : /name="role"/.test(page.html)
            ? [/name="role"/, { role: /name="role"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="role"/.exec(page.html)?.slice(1).find((v) => v !== undefined) ?? '' }]
            : [undefined, {}]
    if (field === undefined) throw new HttpError(`unexpected page at ${page.url}`)
    const form = formWith(page, field)
    landing = await go(target, jar, form.action, { ...formPost, body: new URLSearchParams({ ...form.fields, ...values }).toString() })
  }
  return codeFrom(target, landing)
}

/** An authorization answered from the session in `jar` (single sign-on): a code, without a page. */
export async function ssoCode(target: Target, client: ClientCredentials, jar: CookieJar): Promise<string> {
  const response = await send(target, authorizationUrl(target, client), { jar })
  await response.body?.cancel()
  const location = response.headers.get('location')
  if (response.status < 300 || response.status > 399 || location === null) throw new HttpError(`SSO authorize: HTTP ${response.status}, no redirect`)
  return codeFrom(target, { location: new URL(location, target.origin).href })
}

/** The form body of a code redemption (client_secret_post, PKCE verifier). */
export function tokenRequestBody(target: Target, client: ClientCredentials, code: string): string {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: target.redirectUri,
    code_verifier: codeVerifier,
    client_id: client.client_id,
    client_secret: client.client_secret,
  }).toString()
}

export interface Tokens {
  access_token: string
  id_token: string
}

export async function redeem(target: Target, client: ClientCredentials, code: string): Promise<Tokens> {
  const response = await send(target, target.endpoints.token, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: tokenRequestBody(target, client, code),
  })
  if (response.status !== 200) throw await failure(response, 'token')
  const tokens = (await response.json()) as Partial<Tokens>
  if (typeof tokens.access_token !== 'string' || typeof tokens.id_token !== 'string') throw new HttpError('token response without access_token and id_token')
  return tokens as Tokens
}

export async function userinfo(target: Target, accessToken: string): Promise<Record<string, unknown>> {
  const response = await send(target, target.endpoints.userinfo, { headers: { authorization: `Bearer ${accessToken}` } })
  if (response.status !== 200) throw await failure(response, 'userinfo')
  return (await response.json()) as Record<string, unknown>
}

/** The compact JWS header of a token, or undefined when it is not a JWT (an opaque token). */
export function jwsHeader(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    return JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
}
