/**
 * The OpenID Foundation's RP-Initiated Logout plan (oidcc-rp-initiated-logout-certification-test-plan),
 * one test per module, named after it. Each signs in afresh, then calls the end_session_endpoint
 * the way the module does. Where the OP must refuse, it shows an error page, never redirects, and
 * the session lives on (prompt=none still answers with a code); where it must log out, the session
 * is over (prompt=none answers login_required), checked with the session cookie presented again,
 * so it is the server that ended the session and not merely the browser that dropped the cookie.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair, SignJWT } from 'jose'
import { Browser } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import {
  addRp,
  assertCodeRedirect,
  assertErrorPage,
  assertErrorRedirect,
  authorizationUrl,
  authRequest,
  codeFlow,
  copyCookies,
  type Rp,
} from '../support/conformance.ts'

const postLogout = 'https://rp.example.test/signed-out'

describe('OpenID conformance: RP-Initiated Logout OP plan', () => {
  let careid: TestCareid
  let rp: Rp

  before(async () => {
    careid = await startTestCareid()
    rp = await addRp(careid, { post_logout_redirect_uris: [postLogout] })
  })
  after(() => careid.close())

  /** A browser with a fresh session, a copy of its cookies as they are now, and the ID token. */
  async function signedIn() {
    const browser = new Browser(careid.origin)
    const { tokens, claims } = await codeFlow(careid, browser, rp)
    return { browser, saved: copyCookies(browser, new Browser(careid.origin)), idToken: tokens.id_token, sid: claims.sid as string }
  }

  function endSession(browser: Browser, params: Record<string, string>): Promise<Response> {
    const url = new URL(careid.provider.endpoints.endSession)
    for (const [name, value] of Object.entries(params)) url.searchParams.append(name, value)
    return browser.fetch(url.href)
  }

  function promptNone(browser: Browser) {
    const params = authRequest(rp, { prompt: 'none' })
    return { params, response: browser.fetch(authorizationUrl(careid, params)) }
  }

  /** The session still answers silently: prompt=none gets a code. */
  async function assertSessionLives(browser: Browser): Promise<void> {
    const { params, response } = promptNone(browser)
    const answer = await response
    assert.equal(answer.status, 302)
    assertCodeRedirect(answer.headers.get('location'), { redirectUri: rp.redirect_uri, state: params.state, issuer: careid.issuer })
  }

  /** The session is over, for the browser and for anyone presenting its old cookie: login_required. */
  async function assertSessionEnded(browser: Browser, saved: Browser): Promise<void> {
    for (const who of [browser, saved]) {
      const { params, response } = promptNone(who)
      assertErrorRedirect(await response, { redirectUri: rp.redirect_uri, error: 'login_required', state: params.state, issuer: careid.issuer })
    }
  }

  /** A page, not a redirect: "You have signed out". */
  async function assertSignedOutPage(response: Response): Promise<void> {
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('location'), null, 'no redirect')
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(await response.text(), /<h1[^>]*>\s*You have signed out\s*<\/h1>/)
  }

  /** What the OP must do when it refuses: a page, no redirect, and the session untouched. */
  async function assertRefused(response: Response, browser: Browser): Promise<void> {
    await assertErrorPage(response, { status: 400, error: 'invalid_request' })
    await assertSessionLives(browser)
  }

  it('oidcc-rp-initiated-logout-discovery-endpoint-verification', async () => {
    const doc = (await (await fetch(careid.provider.endpoints.discovery)).json()) as Record<string, unknown>
    assert.equal(doc.end_session_endpoint, `${careid.issuer}/connect/endSession`)
    // It answers (a bare call shows the signed-out page).
    await assertSignedOutPage(await fetch(doc.end_session_endpoint as string, { redirect: 'manual' }))
  })

  it('oidcc-rp-initiated-logout', async () => {
    const { browser, saved, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: postLogout, state: 'logout-state' })
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('location'), `${postLogout}?state=logout-state`)
    await assertSessionEnded(browser, saved)
  })

  it('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri', async () => {
    const { browser, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: 'https://rp.example.test/not-registered', state: 's' })
    await assertRefused(response, browser)
  })

  it('oidcc-rp-initiated-logout-modified-id-token-hint', async () => {
    const { browser, idToken } = await signedIn()
    // The suite's change: alg none and the signature removed, the rest (kid included) as issued.
    const [headerPart, payloadPart] = idToken.split('.') as [string, string]
    const header = { ...JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')), alg: 'none' }
    const unsigned = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payloadPart}.`
    const response = await endSession(browser, { id_token_hint: unsigned, post_logout_redirect_uri: postLogout, state: 's' })
    await assertRefused(response, browser)
  })

  it('oidcc-rp-initiated-logout-no-id-token-hint', async () => {
    const { browser } = await signedIn()
    // Without a hint or client_id nothing says whose URI this is, so it cannot be trusted.
    const response = await endSession(browser, { post_logout_redirect_uri: postLogout, state: 's' })
    await assertRefused(response, browser)
  })

  it('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri', async () => {
    const { browser, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: `${postLogout}?foo=bar`, state: 's' })
    await assertRefused(response, browser)
  })

  it('oidcc-rp-initiated-logout-bad-id-token-hint', async () => {
    const { browser, idToken } = await signedIn()
    // The same claims and kid, signed by a key that is not Careid's.
    const { privateKey } = await generateKeyPair('RS256')
    const [headerPart, payloadPart] = idToken.split('.') as [string, string]
    const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as { kid: string }
    const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<string, unknown>
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: header.kid, typ: 'JWT' }).sign(privateKey)
    const response = await endSession(browser, { id_token_hint: forged, post_logout_redirect_uri: postLogout, state: 's' })
    await assertRefused(response, browser)
  })

  it('oidcc-rp-initiated-logout-no-params', async () => {
    const { browser, saved } = await signedIn()
    await assertSignedOutPage(await endSession(browser, {}))
    await assertSessionEnded(browser, saved)
  })

  it('oidcc-rp-initiated-logout-no-post-logout-redirect-uri', async () => {
    const { browser, saved, idToken } = await signedIn()
    await assertSignedOutPage(await endSession(browser, { id_token_hint: idToken, state: 's' }))
    await assertSessionEnded(browser, saved)
  })

  it('oidcc-rp-initiated-logout-only-state', async () => {
    const { browser, saved } = await signedIn()
    await assertSignedOutPage(await endSession(browser, { state: 's' }))
    await assertSessionEnded(browser, saved)
  })

  it('oidcc-rp-initiated-logout-no-state', async () => {
    const { browser, saved, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: postLogout })
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('location'), postLogout, 'exactly the registered URI: no state was sent, none is added')
    await assertSessionEnded(browser, saved)
  })
})
