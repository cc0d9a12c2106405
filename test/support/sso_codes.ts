/**
 * Authorization codes on demand for protocol tests. One password sign-in per browser; after that
 * single sign-on answers each authorization request with a code at once, without pages, so a test
 * can spend a fresh code on every case it needs. Also: PKCE pairs, authorization URLs with
 * repeated parameters, and plain form posts (the token endpoint seen byte for byte).
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { Browser } from './browser.ts'
import type { TestCareid } from './careid.ts'
import { signIn } from './journey.ts'

export interface Pkce {
  verifier: string
  challenge: string
}

/** RFC 7636 4.1, 4.2: a 43-character verifier and its S256 challenge. */
export function pkcePair(): Pkce {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Query or form parameters; an array repeats the parameter, undefined leaves it out. */
export type FormValues = Record<string, string | readonly string[] | undefined>

export function encodeForm(values: FormValues): string {
  const out = new URLSearchParams()
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue
    for (const v of typeof value === 'string' ? [value] : value) out.append(key, v)
  }
  return out.toString()
}

/** The authorization endpoint with exactly `params` in its query. */
export function authorizationUrl(careid: TestCareid, params: FormValues): string {
  return `${careid.provider.endpoints.authorization}?${encodeForm(params)}`
}

/** A POST with an application/x-www-form-urlencoded body (a string is sent as it is). */
export function postForm(url: string, form: FormValues | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : encodeForm(form),
    redirect: 'manual',
  })
}

export interface CodeClient {
  client_id: string
  redirect_uri: string
}

/** Someone whose one role is chosen automatically, so a sign-in has no role page. */
const onePerson = demoWorkforce.find((p) => p.positions.length === 1)
assert.ok(onePerson, 'the demo workforce has someone with exactly one role')
export const singleRolePerson = onePerson
export const singleRolePassword = demoCredentials[onePerson.uid]?.password as string

/** Password sign-in (AAL1_USERPASS offers only the password) through `client`; the browser then holds a session. */
export async function signedInBrowser(careid: TestCareid, client: CodeClient): Promise<Browser> {
  const browser = new Browser(careid.origin)
  const url = authorizationUrl(careid, { response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uri, scope: 'openid', acr_values: 'AAL1_USERPASS', state: 'sign-in' })
  const { location } = await signIn(browser, url, { username: singleRolePerson.username, password: singleRolePassword })
  assert.ok(location.startsWith(`${client.redirect_uri}?`) && new URL(location).searchParams.has('code'), `the sign-in ended at ${location}`)
  return browser
}

/**
 * A fresh code from the browser's session (no pages). `params` are added to, or override, the
 * defaults: response_type=code, scope=openid, acr_values=AAL1_USERPASS, the client's redirect URI.
 */
export async function ssoCode(careid: TestCareid, browser: Browser, client: CodeClient, params: FormValues = {}): Promise<string> {
  const url = authorizationUrl(careid, { response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uri, scope: 'openid', acr_values: 'AAL1_USERPASS', ...params })
  const landing = await browser.go(url)
  assert.ok(landing.location !== undefined, `single sign-on showed a page (${landing.page?.status}) instead of answering`)
  const code = new URL(landing.location).searchParams.get('code')
  assert.ok(code !== null, `no code in ${landing.location}`)
  return code
}
