/**
 * CORS for browser applications: discovery and the JWKS are readable from any origin; the token,
 * userinfo and revocation endpoints only from the web origins of the client a request is for (its
 * listed ones, else its redirect URIs' origins); introspection, for servers, from none. Never with
 * credentials. First each header as sent, then a single-page application using oidc-client-ts in
 * Chromium: served from one loopback port, it signs in through Careid's pages, calls userinfo and
 * refreshes; served from another port no client registered, its calls fail.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import type { Browser } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { startSpa, type Spa } from '../support/spa.ts'
import { pkcePair, postForm, signedInBrowser, singleRolePerson, ssoCode, type CodeClient } from '../support/sso_codes.ts'
import { chromium, requires } from '../support/system_packages.ts'
import { demoCredentials } from '@careid/domain'

const listedOrigin = 'https://app.listed.example.test'

/** The CORS response headers of a response, by name (absent ones left out). */
function corsHeaders(response: Response): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of response.headers) if (name.startsWith('access-control-') || name === 'vary') out[name] = value
  return out
}

function preflight(url: string, origin: string, method = 'POST', headers = 'authorization, content-type'): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } })
}

describe('CORS for browser applications', () => {
  let careid: TestCareid
  let spa: Spa
  let stranger: Spa
  /** A public PKCE client with refresh tokens, whose web origin is its redirect URI's (the SPA's). */
  let spaClient: CodeClient
  /** A client that lists its web origin, which differs from its redirect URI's. */
  let listed: CodeClient

  const clientPreflight = (origin: string) => ({
    'access-control-allow-origin': origin,
    'access-control-allow-headers': 'Authorization, Content-Type, DPoP',
    'access-control-max-age': '600',
    vary: 'Origin',
  })

  before(async () => {
    careid = await startTestCareid({ settings: { signInRateLimit: '100' } })
    spa = await startSpa()
    stranger = await startSpa()
    const added = await careid.addClient({
      client_name: 'Rota single-page app',
      redirect_uris: [`${spa.origin}/callback.html`],
      token_endpoint_auth_method: 'none',
      refresh_tokens: true,
    })
    spaClient = { client_id: added.client_id, redirect_uri: `${spa.origin}/callback.html` }
    const listedAdded = await careid.addClient({ redirect_uris: [`${spa.origin}/listed-callback.html`], token_endpoint_auth_method: 'none', web_origins: [listedOrigin] })
    listed = { client_id: listedAdded.client_id, redirect_uri: `${spa.origin}/listed-callback.html` }
  })
  after(async () => {
    await spa?.close()
    await stranger?.close()
    await careid?.close()
  })

  describe('the headers', () => {
    let browser: Browser

    before(async () => {
      // Signed in through the demo app; the SPA client then gets its codes by single sign-on.
      browser = await signedInBrowser(careid, { client_id: careid.demo.client_id, redirect_uri: `${careid.origin}/demo/callback` })
    })

    /** Tokens for the SPA client by PKCE, as its page would get them. */
    async function spaTokens(): Promise<{ access_token: string; refresh_token: string }> {
      const pkce = pkcePair()
      const code = await ssoCode(careid, browser, spaClient, { code_challenge: pkce.challenge, code_challenge_method: 'S256' })
      const response = await postForm(careid.provider.endpoints.token, { grant_type: 'authorization_code', code, redirect_uri: spaClient.redirect_uri, client_id: spaClient.client_id, code_verifier: pkce.verifier })
      assert.equal(response.status, 200)
      return (await response.json()) as { access_token: string; refresh_token: string }
    }

    it('lets any origin read discovery and the JWKS, without credentials, on both ways they are served', async () => {
      const { discovery, jwks } = careid.provider.endpoints
      // The exact paths are answered before the router; with a query string, by the routes.
      for (const url of [discovery, jwks, `${discovery}?x=1`, `${jwks}?x=1`]) {
        const response = await fetch(url, { headers: { origin: stranger.origin } })
        assert.equal(response.status, 200, url)
        assert.deepEqual(corsHeaders(response), { 'access-control-allow-origin': '*' }, url)
      }
    })

    it('answers a preflight for discovery and the JWKS from any origin: 204, GET', async () => {
      for (const url of [careid.provider.endpoints.discovery, careid.provider.endpoints.jwks]) {
        const response = await preflight(url, stranger.origin, 'GET', 'authorization')
        assert.equal(response.status, 204)
        assert.deepEqual(corsHeaders(response), {
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'GET',
          'access-control-allow-headers': 'Authorization, Content-Type, DPoP',
          'access-control-max-age': '600',
        })
      }
    })

    it('answers a preflight to the token, userinfo and revocation endpoints from a registered web origin: 204, no credentials', async () => {
      const { token, userinfo, revocation } = careid.provider.endpoints
      for (const [url, methods] of [[token, 'POST'], [userinfo, 'GET, POST'], [revocation, 'POST']] as const) {
        for (const origin of [spa.origin, listedOrigin]) {
          const response = await preflight(url, origin)
          assert.equal(response.status, 204, url)
          assert.deepEqual(corsHeaders(response), { ...clientPreflight(origin), 'access-control-allow-methods': methods }, url)
        }
      }
    })

    it('gives no CORS headers to a preflight from an origin no client registered', async () => {
      const { token, userinfo, revocation } = careid.provider.endpoints
      for (const url of [token, userinfo, revocation]) {
        for (const origin of [stranger.origin, 'null', `${spa.origin}.evil.example`]) {
          const response = await preflight(url, origin)
          assert.equal(response.status, 204, url)
          assert.deepEqual(corsHeaders(response), { vary: 'Origin' }, `${url} from ${origin}`)
        }
      }
    })

    it('lets the client\'s own origin read a token response, and no other origin, while the request is processed alike', async () => {
      const pkce = pkcePair()
      const code = await ssoCode(careid, browser, spaClient, { code_challenge: pkce.challenge, code_challenge_method: 'S256' })
      const request = { grant_type: 'authorization_code', code, redirect_uri: spaClient.redirect_uri, client_id: spaClient.client_id, code_verifier: pkce.verifier }
      const ok = await postForm(careid.provider.endpoints.token, request, { origin: spa.origin })
      assert.equal(ok.status, 200)
      assert.deepEqual(corsHeaders(ok), { 'access-control-allow-origin': spa.origin, 'access-control-expose-headers': 'WWW-Authenticate', vary: 'Origin' })
      // The same request again (the code is spent) from an origin of another client: refused as
      // before, and that page cannot read the answer.
      const other = await postForm(careid.provider.endpoints.token, request, { origin: listedOrigin })
      assert.equal(other.status, 400)
      assert.equal(((await other.json()) as { error: string }).error, 'invalid_grant')
      assert.deepEqual(corsHeaders(other), { vary: 'Origin' })
      const unknown = await postForm(careid.provider.endpoints.token, { ...request, client_id: '999999999999.apps.national' }, { origin: spa.origin })
      assert.equal(unknown.status, 401)
      assert.deepEqual(corsHeaders(unknown), { vary: 'Origin' }, 'a client that does not exist allows no origin')
    })

    it('follows a listed web origin instead of the redirect URIs\' origins', async () => {
      const request = { grant_type: 'authorization_code', code: 'spent', redirect_uri: listed.redirect_uri, client_id: listed.client_id, code_verifier: pkcePair().verifier }
      const fromListed = await postForm(careid.provider.endpoints.token, request, { origin: listedOrigin })
      assert.equal(fromListed.status, 400)
      assert.equal(fromListed.headers.get('access-control-allow-origin'), listedOrigin)
      const fromRedirectOrigin = await postForm(careid.provider.endpoints.token, request, { origin: spa.origin })
      assert.equal(fromRedirectOrigin.headers.get('access-control-allow-origin'), null)
    })

    it('at userinfo and revocation, allows the origin of the client the token was issued to', async () => {
      const { access_token, refresh_token } = await spaTokens()
      const info = await fetch(careid.provider.endpoints.userinfo, { headers: { authorization: `Bearer ${access_token}`, origin: spa.origin } })
      assert.equal(info.status, 200)
      assert.deepEqual(corsHeaders(info), { 'access-control-allow-origin': spa.origin, 'access-control-expose-headers': 'WWW-Authenticate', vary: 'Origin' })
      const elsewhere = await fetch(careid.provider.endpoints.userinfo, { headers: { authorization: `Bearer ${access_token}`, origin: listedOrigin } })
      assert.equal(elsewhere.status, 200, 'processed as before')
      assert.deepEqual(corsHeaders(elsewhere), { vary: 'Origin' })

      const revoked = await postForm(careid.provider.endpoints.revocation, { token: refresh_token, client_id: spaClient.client_id }, { origin: spa.origin })
      assert.equal(revoked.status, 200)
      assert.equal(revoked.headers.get('access-control-allow-origin'), spa.origin)
      const refreshed = await postForm(careid.provider.endpoints.token, { grant_type: 'refresh_token', refresh_token, client_id: spaClient.client_id }, { origin: spa.origin })
      assert.equal(refreshed.status, 400, 'the revocation took effect')
      assert.equal(refreshed.headers.get('access-control-allow-origin'), spa.origin, 'and the page can read why')
    })

    it('answers no CORS at introspection, which is for servers: the preflight is not found, the response has no CORS headers', async () => {
      const response = await preflight(careid.provider.endpoints.introspection, spa.origin)
      assert.equal(response.status, 404)
      assert.deepEqual(corsHeaders(response), {})
      const introspection = await postForm(careid.provider.endpoints.introspection, { token: 'x', client_id: spaClient.client_id }, { origin: spa.origin })
      assert.equal(introspection.status, 401)
      assert.deepEqual(corsHeaders(introspection), {})
    })
  })

  describe('a single-page application with oidc-client-ts in Chromium', requires(chromium), () => {
    let context: BrowserContext
    let page: Page
    let userDataDir: string
    /** Console errors and uncaught exceptions, such as "blocked by CORS policy". */
    const consoleErrors: string[] = []

    before(async () => {
      userDataDir = mkdtempSync(join(tmpdir(), 'careid-chromium-'))
      ;({ context, page } = await launchChromium(userDataDir))
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text())
      })
      page.on('pageerror', (error) => consoleErrors.push(error.message))
    })
    after(async () => {
      await context?.close()
      if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true })
    })

    /** Evaluates an expression in the page (written as text: the project compiles without DOM types). */
    function inPage<T>(expression: string): Promise<T> {
      return page.evaluate(expression) as Promise<T>
    }

    it('signs in through Careid\'s pages, calls userinfo and refreshes; a page from an unregistered origin cannot call the token or userinfo endpoints', async () => {
      spa.configure({ authority: careid.issuer, client_id: spaClient.client_id, redirect_uri: spaClient.redirect_uri, acr_values: 'AAL2_OR_AAL3_ANY' })
      await page.goto(`${spa.origin}/index.html`)
      // oidc-client-ts reads discovery (cross-origin) and sends the browser to Careid.
      // (It navigates away, so nothing is awaited in the page; an error would show in the console.)
      await Promise.all([
        page.waitForURL(/\/interaction\/[^/]+$/, { timeout: 10_000 }).catch((error: unknown) => {
          throw new Error(`oidc-client-ts did not reach Careid's sign-in: ${consoleErrors.join('; ')}`, { cause: error })
        }),
        inPage('void careidSpa.signIn()'),
      ])
      if ((await page.getByLabel('Authenticator app').count()) > 0) {
        await page.getByLabel('Authenticator app').check()
        await page.getByRole('button', { name: 'Continue' }).click()
      }
      await page.getByLabel('Username').fill(singleRolePerson.username)
      await page.getByLabel('Password').fill(demoCredentials[singleRolePerson.uid]?.password as string)
      await Promise.all([page.waitForURL(/\/authenticate$/), page.getByRole('button', { name: 'Continue' }).click()])
      await page.getByLabel('Enter the code from your authenticator app').fill(await careid.totp(singleRolePerson.uid))
      await Promise.all([page.waitForURL(`${spa.origin}/callback.html?**`), page.getByRole('button', { name: 'Continue' }).click()])

      // The code exchange: a cross-origin POST to the token endpoint.
      const signedIn = await inPage<{ sub: string; acr: string; access_token: string; refresh: boolean }>('careidSpa.callback()')
      assert.equal(signedIn.sub, singleRolePerson.uid)
      assert.equal(signedIn.acr, 'AAL2_OR_AAL3_ANY')
      assert.equal(signedIn.refresh, true, 'a refresh token came too')

      // Userinfo with a Bearer header: preflighted, then read.
      const info = await inPage<{ status: number; body: { sub: string } }>('careidSpa.userinfo()')
      assert.equal(info.status, 200)
      assert.equal(info.body.sub, singleRolePerson.uid)

      // signinSilent with a refresh token: another cross-origin token request.
      const refreshed = await inPage<{ sub: string; access_token: string; refresh: boolean }>('careidSpa.refresh()')
      assert.equal(refreshed.sub, singleRolePerson.uid)
      assert.notEqual(refreshed.access_token, signedIn.access_token, 'a new access token')
      const after = await inPage<{ status: number; body: { sub: string } }>('careidSpa.userinfo()')
      assert.equal(after.status, 200, 'the new access token reads userinfo')
      assert.equal(consoleErrors.length, 0, `nothing was blocked: ${consoleErrors.join('; ')}`)

      // A page from an origin no client registered: discovery reads, the rest is blocked by the browser.
      stranger.configure({ authority: careid.issuer, client_id: spaClient.client_id, redirect_uri: spaClient.redirect_uri, acr_values: 'AAL2_OR_AAL3_ANY' })
      await page.goto(`${stranger.origin}/index.html`)
      const attempts = await inPage<Record<string, string>>(`careidSpa.probe(${JSON.stringify(refreshed.access_token)})`)
      assert.deepEqual(attempts, { discovery: 'read 200', token: 'blocked', userinfo: 'blocked' })
      assert.ok(consoleErrors.some((text) => text.includes('blocked by CORS policy')), 'the browser says why')
    })
  })
})
