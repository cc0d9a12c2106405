/**
 * Rate limits: password and authenticator-app code posts per username (or, at the code step, per
 * journey) and client IP; token requests per client and client IP. Over a limit: 429 with
 * Retry-After, as an error page for the sign-in pages and as RFC 6749 5.2 JSON at the token
 * endpoint, and the refused request does nothing (no password checked, no code redeemed).
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { Browser, form, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { h1 } from '../support/journey.ts'
import { codeRedeemed, expectErrorPage, expectJsonError } from '../support/refusals.ts'
import { authorizationUrl, postForm, signedInBrowser, ssoCode } from '../support/sso_codes.ts'
import { windowWithRoom } from '../support/rate_windows.ts'

const signInLimit = 3
const tokenLimit = 2
/** People with one role (no role page) besides reception.brown, each signing in in one test only. */
const others = demoWorkforce.filter((p) => p.positions.length === 1 && p.username !== 'reception.brown' && demoCredentials[p.uid] !== undefined).map((p) => p.username)
assert.ok(others.length >= 2, 'the demo workforce has two more people with one role')

function person(username: string) {
  const found = demoWorkforce.find((p) => p.username === username)
  assert.ok(found, `no demo person ${username}`)
  return { ...found, password: demoCredentials[found.uid]?.password as string }
}

/** A minute-long window with 10 s or more left, so a test's requests all fall in one window. */
const freshWindow = () => windowWithRoom(60_000, 10_000)

/** Retry-After: whole seconds, within the minute-long window. */
function assertRetryAfter(response: Response): void {
  const value = response.headers.get('retry-after')
  assert.match(value ?? '', /^\d+$/)
  assert.ok(Number(value) >= 1 && Number(value) <= 60, `Retry-After ${value}`)
}

describe('rate limits', () => {
  let careid: TestCareid
  let rp: { client_id: string; client_secret: string; redirect_uri: string }
  let other: { client_id: string; client_secret: string; redirect_uri: string }

  before(async () => {
    careid = await startTestCareid({ settings: { signInRateLimit: String(signInLimit), tokenRateLimit: String(tokenLimit) } })
    const redirect_uri = 'https://rp.example/callback'
    const added = await careid.addClient({ redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' })
    rp = { client_id: added.client_id, client_secret: added.client_secret as string, redirect_uri }
    const second = await careid.addClient({ redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' })
    other = { client_id: second.client_id, client_secret: second.client_secret as string, redirect_uri }
  })
  after(() => careid.close())

  /** A fresh browser at the password page of a new journey for `acr`. */
  async function passwordPage(acr: string): Promise<{ browser: Browser; page: PageResult }> {
    const browser = new Browser(careid.origin)
    const { page } = await browser.go(authorizationUrl(careid, { response_type: 'code', client_id: rp.client_id, redirect_uri: rp.redirect_uri, scope: 'openid', acr_values: acr, state: 's' }))
    assert.ok(page !== undefined && page.html.includes('name="password"'), 'expected the password page')
    return { browser, page }
  }

  async function post(browser: Browser, page: PageResult, fields: Record<string, string>): Promise<Response> {
    const f = form(page, '/authenticate')
    return browser.fetch(f.action, { form: { ...f.fields, ...fields } })
  }

  it(`password posts past ${signInLimit} a minute for one username from one address get 429 and check nothing`, async () => {
    await freshWindow()
    const brown = person('reception.brown')
    const { username, uid } = brown
    const { browser, page } = await passwordPage('AAL1_USERPASS')
    for (let i = 0; i < signInLimit; i++) {
      const refused = await post(browser, page, { username, password: 'not the password' })
      assert.equal(refused.status, 400, 'a wrong password is shown the form again')
      await refused.body?.cancel()
    }
    const passwordState = async () => (await careid.context.store.credentials.listByPerson(uid)).find((c) => c.kind === 'password')?.state
    const failuresBefore = await passwordState()
    assert.equal(failuresBefore?.failures, signInLimit)
    // Even the right password, in another case and with spaces around it, is not looked at now.
    const limited = await post(browser, page, { username: ` ${username.toUpperCase()} `, password: brown.password })
    assertRetryAfter(limited)
    const html = await expectErrorPage(limited, { status: 429, error: 'invalid_request', secrets: [brown.password] })
    assert.equal(h1({ status: 429, url: '', html, headers: limited.headers }), 'There have been too many attempts to sign in')
    assert.equal(limited.headers.get('set-cookie'), null, 'no session was started')
    // Checked, the right password would have cleared the failures.
    assert.deepStrictEqual(await passwordState(), failuresBefore, 'the refused post was not checked')

    // Another person from the same address has an allowance of their own.
    const next = person(others[1] as string)
    const { browser: second, page: secondPage } = await passwordPage('AAL1_USERPASS')
    const signedIn = await post(second, secondPage, { username: next.username, password: next.password })
    assert.equal(signedIn.status, 303, 'another username is not limited')
    assert.ok(second.cookies.size > 0)
  })

  it('authenticator-app code posts are counted per journey and address, apart from the password posts', async () => {
    await freshWindow()
    const someone = person(others[0] as string)
    const codePage = async () => {
      const { browser, page } = await passwordPage('AAL2_TOTP')
      const f = form(page, '/authenticate')
      const { page: next } = await browser.go(f.action, { form: { ...f.fields, username: someone.username, password: someone.password } })
      assert.ok(next !== undefined && next.html.includes('name="code"'), 'expected the code page')
      return { browser, page: next }
    }
    const { browser, page } = await codePage()
    for (let i = 0; i < signInLimit; i++) {
      // Six zeros: not a current code but for a one-in-a-million chance.
      const refused = await post(browser, page, { code: '000000' })
      assert.equal(refused.status, 400, 'a wrong code is shown the form again')
      await refused.body?.cancel()
    }
    const right = await careid.totp(someone.uid)
    const limited = await post(browser, page, { code: right })
    assertRetryAfter(limited)
    await expectErrorPage(limited, { status: 429, error: 'invalid_request', secrets: [right] })
    assert.equal(limited.headers.get('set-cookie'), null, 'no session was started')

    // A new journey from the same address: its password post is the person's second, its code post its own first.
    const again = await codePage()
    const accepted = await post(again.browser, again.page, { code: await careid.totp(someone.uid) })
    assert.equal(accepted.status, 303)
    assert.ok(accepted.headers.get('location')?.startsWith(`${rp.redirect_uri}?`))
  })

  it('authenticator-app code posts are limited at the same count whatever username field is added to them', async () => {
    await freshWindow()
    const clark = person('agency.clark')
    const { browser, page: passwordForm } = await passwordPage('AAL2_TOTP')
    const f = form(passwordForm, '/authenticate')
    const { page } = await browser.go(f.action, { form: { ...f.fields, username: clark.username, password: clark.password } })
    assert.ok(page !== undefined && page.html.includes('name="code"'), 'expected the code page')
    for (let i = 0; i < signInLimit; i++) {
      const refused = await post(browser, page, { code: '000000', username: `someone-${i}-${randomUUID()}` })
      assert.equal(refused.status, 400, 'a wrong code is shown the form again')
      await refused.body?.cancel()
    }
    const right = await careid.totp(clark.uid)
    const limited = await post(browser, page, { code: right, username: `someone-else-${randomUUID()}` })
    assertRetryAfter(limited)
    await expectErrorPage(limited, { status: 429, error: 'invalid_request', secrets: [right] })
    assert.equal(limited.headers.get('set-cookie'), null, 'no session was started')
  })

  it(`token requests past ${tokenLimit} a minute for one client from one address get 429 and redeem nothing`, async () => {
    await freshWindow()
    const token = careid.provider.endpoints.token
    for (let i = 0; i < tokenLimit; i++) {
      const refused = await postForm(token, { grant_type: 'authorization_code', code: `no-such-code-${i}`, redirect_uri: rp.redirect_uri, client_id: rp.client_id, client_secret: rp.client_secret })
      await expectJsonError(refused, { status: 400, error: 'invalid_grant' })
    }
    const browser = await signedInBrowser(careid, other)
    const code = await ssoCode(careid, browser, rp)
    const limited = await postForm(token, { grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, client_id: rp.client_id, client_secret: rp.client_secret })
    assertRetryAfter(limited)
    assert.equal(limited.headers.get('cache-control'), 'no-store')
    await expectJsonError(limited, { status: 429, error: 'invalid_request', description: 'too many token requests from this client; retry after the time in Retry-After', secrets: [code, rp.client_secret] })
    assert.equal(codeRedeemed(careid, code), false, 'the refused request redeemed nothing')

    // The limit is the client's: another client from the same address redeems its own code.
    const mine = await ssoCode(careid, browser, other)
    const redeemed = await postForm(token, { grant_type: 'authorization_code', code: mine, redirect_uri: other.redirect_uri, client_id: other.client_id, client_secret: other.client_secret })
    assert.equal(redeemed.status, 200, await redeemed.clone().text())
    const body = (await redeemed.json()) as { access_token?: unknown }
    assert.equal(typeof body.access_token, 'string')
  })
})
