/**
 * The sign-in page remembers the last method used on this browser, over HTTP: a successful sign-in
 * sets a cookie naming the method (its id only, long-lived, under the issuer's path); the next
 * journey whose request accepts that method among others starts it directly, with "Use another way
 * to sign in" leading to the choice, which then stays the choice; a request that does not accept it,
 * or a cookie naming nothing known, gets the choice as before; a failed sign-in remembers nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Person } from '@careid/domain'
import { Browser, form, radioValues, type Landing, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { password, person } from '../support/demo_people.ts'
import { h1 } from '../support/journey.ts'
import { addRp, authorizeUrl, callbackParams, redeem, type TestRp } from '../support/rp.ts'

const cookieName = 'careid_method'

function shown(landing: Landing): PageResult {
  assert.ok(landing.page, `expected a page, was redirected to ${landing.location}`)
  return landing.page
}

/** The Set-Cookie line for `name` as attributes (lower-cased names) with the value; undefined if none. */
function setCookie(headers: Headers, name: string): { value: string; attributes: Map<string, string> } | undefined {
  const line = headers.getSetCookie().find((l) => l.startsWith(`${name}=`))
  if (line === undefined) return undefined
  const [pair = '', ...rest] = line.split(';')
  const attributes = new Map<string, string>()
  for (const a of rest) {
    const eq = a.indexOf('=')
    attributes.set((eq < 0 ? a : a.slice(0, eq)).trim().toLowerCase(), eq < 0 ? '' : a.slice(eq + 1).trim())
  }
  return { value: pair.slice(name.length + 1), attributes }
}

/** The href of the "Use another way to sign in" link, if the page has one. */
function anotherWay(page: PageResult): string | undefined {
  const link = /<a id="another-way" class="nhsuk-link" href="([^"]+)">Use another way to sign in<\/a>/.exec(page.html)
  return link?.[1] === undefined ? undefined : new URL(link[1].replaceAll('&amp;', '&'), page.url).href
}

function isChoice(page: PageResult): boolean {
  return page.status === 200 && h1(page).endsWith('How do you want to sign in?') && page.html.includes('/method"')
}

describe('the sign-in page remembers the last method used on this browser', () => {
  let careid: TestCareid
  let rp: TestRp
  before(async () => {
    careid = await startTestCareid({ config: { agentHandoff: 'never' } })
    rp = await addRp(careid)
  })
  after(async () => careid?.close())

  /** Password or authenticator app, and (with prompt=login) never answered from a session. */
  function url(acrValues: string, state = 'st'): string {
    return authorizeUrl(rp, { scope: 'openid', acr_values: acrValues, prompt: 'login', state })
  }

  /** Posts the page's form ending in `suffix` without following the answer, so its headers can be read. */
  async function postRaw(browser: Browser, page: PageResult, suffix: string, fields: Record<string, string>): Promise<Response> {
    const f = form(page, suffix)
    return browser.fetch(f.action, { form: { ...f.fields, ...fields } })
  }

  /** From the username and password page of `p`'s journey to the final answer, with the authenticator-app code if asked. */
  async function finishSignIn(browser: Browser, page: PageResult, p: Person): Promise<Response> {
    const afterPassword = await postRaw(browser, page, '/authenticate', { username: p.username, password: password(p) })
    if (afterPassword.status !== 200) return afterPassword
    const codePage: PageResult = { status: 200, url: page.url, html: await afterPassword.text(), headers: afterPassword.headers }
    assert.ok(codePage.html.includes('name="code"'), 'asked for the code')
    return postRaw(browser, codePage, '/authenticate', { code: await careid.totp(p.uid) })
  }

  it('a sign-in sets the cookie: the method id only, long-lived, under the issuer path, HttpOnly, SameSite=Lax', async () => {
    const p = person('nurse.jones')
    const browser = new Browser(careid.origin)
    const chooser = shown(await browser.go(url('AAL1_USERPASS AAL2_TOTP')))
    assert.ok(isChoice(chooser))
    assert.deepEqual(radioValues(chooser, 'method'), ['password', 'totp'])
    const passwordPage = shown(await browser.go(form(chooser, '/method').action, { form: { ...form(chooser, '/method').fields, method: 'totp' } }))
    const done = await finishSignIn(browser, passwordPage, p)
    assert.equal(done.status, 303)
    const cookie = setCookie(done.headers, cookieName)
    assert.ok(cookie, `no ${cookieName} cookie in ${JSON.stringify(done.headers.getSetCookie())}`)
    assert.equal(cookie.value, 'totp')
    assert.equal(cookie.attributes.get('path'), new URL(careid.issuer).pathname)
    assert.equal(cookie.attributes.get('max-age'), String(400 * 24 * 60 * 60))
    assert.equal(cookie.attributes.has('httponly'), true)
    assert.equal(cookie.attributes.get('samesite')?.toLowerCase(), 'lax')
    assert.equal(cookie.attributes.has('secure'), false, 'http here')
    assert.equal((await redeem(rp, done.headers.get('location') ?? undefined)).id.sub, p.uid)
  })

  it('the next journey starts the remembered method directly; "Use another way" leads to the choice, which stays the choice', async () => {
    const p = person('midwife.taylor')
    const browser = new Browser(careid.origin)
    browser.cookies.set(cookieName, 'totp')
    const start = shown(await browser.go(url('AAL1_USERPASS AAL2_TOTP')))
    // The authenticator app's first step, not the choice.
    assert.match(h1(start), /Enter your username and password$/)
    assert.ok(start.html.includes('You are signing in with: Authenticator app'), 'the authenticator app began')
    assert.ok(!start.html.includes('name="method"'))
    const another = anotherWay(start)
    assert.ok(another, 'a "Use another way to sign in" link')
    assert.match(new URL(another).pathname, /\/interaction\/[^/]+\/back$/)

    const chooser = shown(await browser.go(another))
    assert.ok(isChoice(chooser))
    assert.deepEqual(radioValues(chooser, 'method'), ['password', 'totp'])
    // The journey's own address again (a reload, or the browser's back button): still the choice.
    const again = shown(await browser.go(start.url))
    assert.ok(isChoice(again), 'no loop back into the remembered method')

    // Another way: the password. Its sign-in is remembered in turn.
    const passwordPage = shown(await browser.go(form(again, '/method').action, { form: { ...form(again, '/method').fields, method: 'password' } }))
    assert.ok(passwordPage.html.includes('You are signing in with: Username and password'))
    assert.equal(anotherWay(passwordPage), undefined, 'chosen, not remembered')
    const done = await finishSignIn(browser, passwordPage, p)
    assert.equal(done.status, 303)
    assert.equal(setCookie(done.headers, cookieName)?.value, 'password')
    assert.equal(callbackParams(rp, done.headers.get('location') ?? undefined).get('state'), 'st')

    const next = shown(await browser.go(url('AAL1_USERPASS AAL2_TOTP', 'st2')))
    assert.ok(next.html.includes('You are signing in with: Username and password'))
    assert.ok(anotherWay(next))
  })

  it('a request that does not accept the remembered method, or a cookie naming no method offered: the choice, as before', async () => {
    const browser = new Browser(careid.origin)
    browser.cookies.set(cookieName, 'totp')
    // Password or smartcard: the authenticator app is not accepted.
    const chooser = shown(await browser.go(url('AAL1_USERPASS AAL3_ANY')))
    assert.ok(isChoice(chooser))
    const offered = radioValues(chooser, 'method')
    assert.deepEqual([offered[0], offered.includes('smartcard'), offered.includes('totp')], ['password', true, false], offered.join(', '))
    for (const value of ['nothing', '..%2F', 'totp.password']) {
      const other = new Browser(careid.origin)
      other.cookies.set(cookieName, value)
      const page = shown(await other.go(url('AAL1_USERPASS AAL2_TOTP')))
      assert.ok(isChoice(page), value)
    }
  })

  it('a single accepted method starts as always, with no other way to offer', async () => {
    const browser = new Browser(careid.origin)
    browser.cookies.set(cookieName, 'password')
    const page = shown(await browser.go(url('AAL2_TOTP')))
    assert.ok(page.html.includes('You are signing in with: Authenticator app'))
    assert.equal(anotherWay(page), undefined)
  })

  it('a failed sign-in remembers nothing', async () => {
    const p = person('dr.hughes')
    const browser = new Browser(careid.origin)
    const chooser = shown(await browser.go(url('AAL1_USERPASS AAL2_TOTP')))
    const passwordPage = shown(await browser.go(form(chooser, '/method').action, { form: { ...form(chooser, '/method').fields, method: 'password' } }))
    const failed = await postRaw(browser, passwordPage, '/authenticate', { username: p.username, password: 'not the password' })
    assert.equal(failed.status, 400)
    assert.equal(setCookie(failed.headers, cookieName), undefined)
    assert.equal(browser.cookies.has(cookieName), false)
  })
})
