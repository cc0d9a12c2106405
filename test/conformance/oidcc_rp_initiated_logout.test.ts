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
import { Browser, form, type Form } from '../support/browser.ts'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
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
  eventually,
  type Rp,
} from '../support/conformance.ts'

const postLogout = 'https://rp.example.test/signed-out'

describe('OpenID conformance: RP-Initiated Logout OP plan', () => {
  let careid: TestCareid
  let rp: Rp

  let receiver: Receiver

  before(async () => {
    // Every test signs in afresh, as the same person: more than the default sign-in limit a minute.
    careid = await startTestCareid({ settings: { signInRateLimit: '100' } })
    receiver = await startReceiver()
    rp = await addRp(careid, { post_logout_redirect_uris: [postLogout], backchannel_logout_uri: receiver.url })
  })
  after(async () => {
    await careid.close()
    await receiver.close()
  })

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

  /** The question asked when no ID token says who asks: a page with a form posting back to end session. */
  async function assertConfirmationPage(response: Response): Promise<Form> {
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('location'), null, 'no redirect')
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/)
    const html = await response.text()
    assert.match(html, /<h1[^>]*>\s*Do you want to sign out\?\s*<\/h1>/)
    return form({ status: response.status, url: careid.provider.endpoints.endSession, html, headers: response.headers }, '/connect/endSession')
  }

  /** The worker presses "Sign out" on the confirmation page. */
  function confirm(browser: Browser, confirmation: Form, changes: Record<string, string | undefined> = {}): Promise<Response> {
    const fields: Record<string, string> = {}
    for (const [name, value] of Object.entries({ ...confirmation.fields, ...changes })) if (value !== undefined) fields[name] = value
    return browser.fetch(confirmation.action, { form: fields })
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
    // Nothing says which application asks: the worker confirms first (RP-Initiated Logout 1.0 2).
    const confirmation = await assertConfirmationPage(await endSession(browser, {}))
    await assertSessionLives(browser)
    await assertSignedOutPage(await confirm(browser, confirmation))
    await assertSessionEnded(browser, saved)
  })

  it('oidcc-rp-initiated-logout-no-post-logout-redirect-uri', async () => {
    const { browser, saved, idToken } = await signedIn()
    await assertSignedOutPage(await endSession(browser, { id_token_hint: idToken, state: 's' }))
    await assertSessionEnded(browser, saved)
  })

  it('oidcc-rp-initiated-logout-only-state', async () => {
    const { browser, saved } = await signedIn()
    const confirmation = await assertConfirmationPage(await endSession(browser, { state: 's' }))
    await assertSessionLives(browser)
    await assertSignedOutPage(await confirm(browser, confirmation))
    await assertSessionEnded(browser, saved)
  })

  it('oidcc-rp-initiated-logout-no-state', async () => {
    const { browser, saved, idToken } = await signedIn()
    const response = await endSession(browser, { id_token_hint: idToken, post_logout_redirect_uri: postLogout })
    assert.equal(response.status, 302)
    assert.equal(response.headers.get('location'), postLogout, 'exactly the registered URI: no state was sent, none is added')
    await assertSessionEnded(browser, saved)
  })
  describe('without an id_token_hint the worker confirms (RP-Initiated Logout 1.0 2 and 6)', () => {
    /** Logout tokens received so far, once the outbox has delivered every one it holds. */
    async function logoutTokensSettled(): Promise<number> {
      await eventually(async () => (await careid.context.store.outbox.counts()).pending === 0, 'the outbox is empty')
      return receiver.tokens.length
    }

    it('asks before ending anything, then ends the session, sends the logout token and redirects to the registered URI', async () => {
      const { browser, saved, sid } = await signedIn()
      const before = await logoutTokensSettled()
      const response = await endSession(browser, { client_id: rp.client_id, post_logout_redirect_uri: postLogout, state: 'confirm-state' })
      const confirmation = await assertConfirmationPage(response)
      assert.deepEqual(
        { post_logout_redirect_uri: confirmation.fields.post_logout_redirect_uri, state: confirmation.fields.state, client_id: confirmation.fields.client_id },
        { post_logout_redirect_uri: postLogout, state: 'confirm-state', client_id: rp.client_id },
        'the request is carried through the form',
      )
      // The form's redirect ends at the relying party, and CSP form-action covers the whole chain.
      assert.match(response.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/rp\.example\.test;/)
      assert.equal(await logoutTokensSettled(), before, 'no logout token was sent')
      await assertSessionLives(browser)

      const confirmed = await confirm(browser, confirmation)
      assert.equal(confirmed.status, 302)
      assert.equal(confirmed.headers.get('location'), `${postLogout}?state=confirm-state`)
      await assertSessionEnded(browser, saved)
      const tokens = await receiver.waitFor(before + 1)
      const payload = JSON.parse(Buffer.from((tokens[before] as string).split('.')[1] as string, 'base64url').toString('utf8')) as { sid: string; aud: string }
      assert.deepEqual({ sid: payload.sid, aud: payload.aud }, { sid, aud: rp.client_id }, "the logout token names the ended session's sid")
    })

    it('refuses a confirmation without the anti-forgery token, with a wrong one, or with another browser\'s: an error page, nothing ended, no logout token', async () => {
      const { browser, saved } = await signedIn()
      const other = await signedIn()
      const before = await logoutTokensSettled()
      const confirmation = await assertConfirmationPage(await endSession(browser, { client_id: rp.client_id, post_logout_redirect_uri: postLogout }))
      const othersConfirmation = await assertConfirmationPage(await endSession(other.browser, {}))
      const theirs = othersConfirmation.fields.csrf as string
      assert.notEqual(theirs, confirmation.fields.csrf, 'each browser has its own token')
      for (const csrf of [undefined, '', `${confirmation.fields.csrf}x`, theirs]) {
        const forged = await confirm(browser, confirmation, { csrf })
        await assertErrorPage(forged, { status: 400, error: 'invalid_request' })
      }
      // A forged post from elsewhere carries no session cookie: nothing is ended either.
      const noCookie = await fetch(confirmation.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(confirmation.fields).toString(), redirect: 'manual' })
      await assertErrorPage(noCookie, { status: 400, error: 'invalid_request' })
      await assertSessionLives(browser)
      await assertSessionLives(saved)
      await assertSessionLives(other.browser)
      assert.equal(await logoutTokensSettled(), before, 'no logout token was sent')
    })

    it('still checks the carried post_logout_redirect_uri when the confirmation is posted', async () => {
      const { browser } = await signedIn()
      const confirmation = await assertConfirmationPage(await endSession(browser, { client_id: rp.client_id, post_logout_redirect_uri: postLogout }))
      const changed = await confirm(browser, confirmation, { post_logout_redirect_uri: 'https://rp.example.test/not-registered' })
      await assertRefused(changed, browser)
    })

    it('ends the session at once, without asking, on an expired ID token Careid signed', async () => {
      const { browser, saved, idToken } = await signedIn()
      const before = await logoutTokensSettled()
      const claims = JSON.parse(Buffer.from(idToken.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>
      const now = Math.floor(Date.now() / 1000)
      const expired = careid.context.keys.sign({ ...claims, iat: now - 7200, exp: now - 3600 }, 'JWT')
      const response = await endSession(browser, { id_token_hint: expired, post_logout_redirect_uri: postLogout, state: 'late' })
      assert.equal(response.status, 302)
      assert.equal(response.headers.get('location'), `${postLogout}?state=late`)
      await assertSessionEnded(browser, saved)
      await receiver.waitFor(before + 1)
    })

    it('ends the session the hint names on a server-side call with no cookie (as NHS clients make), without asking', async () => {
      const { browser, saved, idToken } = await signedIn()
      const before = await logoutTokensSettled()
      const response = await fetch(`${careid.provider.endpoints.endSession}?${new URLSearchParams({ id_token_hint: idToken })}`, { redirect: 'manual' })
      await assertSignedOutPage(response)
      await assertSessionEnded(browser, saved)
      await receiver.waitFor(before + 1)
    })
  })
})
