/**
 * The sign-in journey's policies, through real sign-ins over HTTP: role selection (cis2.md 3.5),
 * which authenticators acr_values offers and which `acr` comes back (3.6), when an existing
 * session answers and when the person must sign in again (step-up, prompt=none, id_token_hint,
 * max_age), login_hint, and the password limits and TOTP lockout.
 *
 * TOTP codes are good once per person per time step, and locks last 15 minutes, so every test that
 * signs in with TOTP or locks something uses a person no other test here does that with.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { enrolPassword } from '@careid/authenticators'
import type { Person } from '@careid/domain'
import type { Json } from '@careid/ports'
import { Browser, form, forms, radioValues, type Landing, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { h1, signIn } from '../support/journey.ts'
import { addRp, authorizeUrl, callbackParams, redeem, userinfo, type TestRp } from '../support/rp.ts'
import { password, person } from '../support/demo_people.ts'
import { windowWithRoom } from '../support/rate_windows.ts'

/** The page's text without markup, whitespace collapsed, so messages split over lines still match. */
function text(page: PageResult): string {
  return page.html
    .replace(/<[^>]+>/g, ' ')
    .replaceAll('&#39;', "'")
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&')
    .replace(/\s+/g, ' ')
}

/** The decoded value attribute of the input with `id`, or undefined when it has none. */
function inputValue(page: PageResult, id: string): string | undefined {
  const tag = [...page.html.matchAll(/<input\b[^>]*>/gi)].map((m) => m[0]).find((t) => new RegExp(`\\sid="${id}"`).test(t))
  assert.ok(tag, `no input #${id} on ${page.url}`)
  const value = /\svalue="([^"]*)"/.exec(tag)?.[1]
  return value?.replaceAll('&#39;', "'").replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')
}

function shown(landing: Landing): PageResult {
  assert.ok(landing.page, `expected a page, was redirected to ${landing.location}`)
  return landing.page
}

function isPasswordForm(page: PageResult): boolean {
  return page.html.includes('name="password"')
}

function isRolePicker(page: PageResult): boolean {
  return page.html.includes('name="role"')
}

/** Posts the page's form that ends with `suffix`, with its hidden fields (csrf) and `fields`. */
function post(browser: Browser, page: PageResult, suffix: string, fields: Record<string, string>): Promise<Landing> {
  const f = form(page, suffix)
  return browser.go(f.action, { form: { ...f.fields, ...fields } })
}

/** Signs in with username and password where the request offers only the password: no choice page. */
async function passwordOnly(browser: Browser, url: string, p: Person): Promise<Landing> {
  const page = shown(await browser.go(url))
  assert.equal(page.status, 200)
  assert.ok(isPasswordForm(page), `expected the password form, got "${h1(page)}"`)
  return post(browser, page, '/authenticate', { username: p.username, password: password(p) })
}

/**
 * Waits, if need be, for a five-minute back-off window (they start at every multiple of five
 * minutes) with a minute or more left, so a test's failures and the refusals after them fall in one.
 */
const freshBackoffWindow = () => windowWithRoom(5 * 60_000, 60_000)

/** Until the next whole second: auth_time has one-second resolution, and "later" must be visible. */
function nextSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000)))
}

describe('the sign-in journey', () => {
  let careid: TestCareid
  let rp: TestRp
  let rp2: TestRp

  before(async () => {
    careid = await startTestCareid()
    rp = await addRp(careid, { client_name: 'Ward app' })
    rp2 = await addRp(careid, { client_name: 'Prescribing app' })
  })
  after(async () => {
    await careid.close()
  })

  /** An authorization request at AAL1 (password only) unless `acr_values` says otherwise. */
  function url(client: TestRp, params: Record<string, string | undefined>): string {
    return authorizeUrl(client, { acr_values: 'AAL1_USERPASS', state: 'st', nonce: 'nn', ...params })
  }

  /** Requests `u` expecting an immediate error redirect to the client (no page); returns its query. */
  async function errorRedirect(browser: Browser, client: TestRp, u: string): Promise<URLSearchParams> {
    const response = await browser.fetch(u)
    await response.body?.cancel()
    assert.equal(response.status, 302)
    const params = callbackParams(client, response.headers.get('location') ?? undefined)
    assert.equal(params.get('code'), null, 'no code with an error')
    assert.equal(params.get('iss'), careid.issuer)
    return params
  }

  describe('role selection (cis2.md 3.5)', () => {
    it('one role: no picker; the role is selected automatically and returned in the ID token and userinfo', async () => {
      const nurse = person('nurse.jones')
      assert.equal(nurse.positions.length, 1)
      const { location, pages } = await signIn(new Browser(careid.origin), url(rp, { scope: 'openid selectedrole' }), { username: nurse.username, password: password(nurse) })
      assert.equal(pages.length, 1, 'only the password page')
      assert.ok(!pages.some(isRolePicker))
      const tokens = await redeem(rp, location)
      assert.equal(tokens.id.selected_roleid, nurse.positions[0]?.person_roleid)
      assert.equal((await userinfo(careid, tokens.access_token)).selected_roleid, nurse.positions[0]?.person_roleid)
    })

    it('2 to 5 roles: a plain list without a search box; the chosen role is returned', async () => {
      const patel = person('dr.patel')
      assert.equal(patel.positions.length, 3)
      const browser = new Browser(careid.origin)
      const picker = shown(await passwordOnly(browser, url(rp, { scope: 'openid selectedrole' }), patel))
      assert.equal(picker.status, 200)
      assert.deepEqual(radioValues(picker, 'role').sort(), patel.positions.map((p) => p.person_roleid).sort())
      assert.ok(!picker.html.includes('name="query"'), 'no search box for 3 roles')
      assert.ok(!forms(picker).some((f) => f.method === 'get'), 'no search form')

      const chosen = patel.positions[2]?.person_roleid as string
      const done = await post(browser, picker, '/role', { role: chosen })
      const tokens = await redeem(rp, done.location)
      assert.equal(tokens.id.selected_roleid, chosen)
      assert.equal((await userinfo(careid, tokens.access_token)).selected_roleid, chosen)
    })

    it('more than 5 roles: a list with a search box; a GET search filters it, and choosing from the filtered list works', async () => {
      const locum = person('locum.okafor')
      assert.equal(locum.positions.length, 7)
      const browser = new Browser(careid.origin)
      const picker = shown(await passwordOnly(browser, url(rp, { scope: 'openid selectedrole' }), locum))
      assert.equal(picker.status, 200)
      assert.equal(radioValues(picker, 'role').length, 7)
      assert.ok(picker.html.includes('name="query"'), 'a search box for 7 roles')

      const search = forms(picker).find((f) => f.method === 'get')
      assert.ok(search, 'the search is a GET form')
      const filtered = shown(await browser.go(`${search.action}?${new URLSearchParams({ query: 'RBA' })}`))
      assert.equal(filtered.status, 200)
      // Their two roles at RBA (Somerset), and nothing else.
      assert.deepEqual(radioValues(filtered, 'role').sort(), ['555271418100', '555271419107'])
      assert.equal(inputValue(filtered, 'query'), 'RBA', 'the search box keeps the query')
      assert.ok(text(filtered).includes('Showing 2 of 7 roles'))

      const none = shown(await browser.go(`${search.action}?${new URLSearchParams({ query: 'no such organisation' })}`))
      assert.deepEqual(radioValues(none, 'role'), [])
      assert.ok(text(none).includes('No roles match'))

      const done = await post(browser, filtered, '/role', { role: '555271419107' })
      const tokens = await redeem(rp, done.location)
      assert.equal(tokens.id.selected_roleid, '555271419107')
      assert.equal((await userinfo(careid, tokens.access_token)).selected_roleid, '555271419107')
    })

    it('no role at all: no picker and no selected_roleid', async () => {
      for (const p of [person('new.starter'), person('agency.clark')]) {
        assert.equal(p.positions.length, 0)
        const { location, pages } = await signIn(new Browser(careid.origin), url(rp, { scope: 'openid selectedrole' }), { username: p.username, password: password(p) })
        assert.ok(!pages.some(isRolePicker), `${p.username} saw a role picker`)
        const tokens = await redeem(rp, location)
        assert.equal(tokens.id.sub, p.uid)
        assert.equal('selected_roleid' in tokens.id, false)
        assert.equal('selected_roleid' in (await userinfo(careid, tokens.access_token)), false)
      }
    })

    it('without selectedrole in scope: no picker and no selected_roleid, even with several roles', async () => {
      const patel = person('dr.patel')
      const { location, pages } = await signIn(new Browser(careid.origin), url(rp, { scope: 'openid profile nationalrbacaccess' }), { username: patel.username, password: password(patel) })
      assert.ok(!pages.some(isRolePicker))
      const tokens = await redeem(rp, location)
      assert.equal('selected_roleid' in tokens.id, false)
      const info = await userinfo(careid, tokens.access_token)
      assert.equal('selected_roleid' in info, false)
      assert.equal((info.nhsid_nrbac_roles as unknown[]).length, 3, 'the roles are still there to read')
    })

    it('a second client in the same session keeps the chosen role; changedrole asks again and returns the new role', async () => {
      const taylor = person('midwife.taylor')
      const [first, second] = taylor.positions.map((p) => p.person_roleid) as [string, string]
      const browser = new Browser(careid.origin)
      const signedIn = await signIn(browser, url(rp, { scope: 'openid selectedrole' }), { username: taylor.username, password: password(taylor), role: second })
      assert.ok(signedIn.pages.some(isRolePicker))
      const a = await redeem(rp, signedIn.location)
      assert.equal(a.id.selected_roleid, second)

      // The other client, same browser: single sign-on, no picker, the role already chosen.
      const sso = await browser.go(url(rp2, { scope: 'openid selectedrole' }))
      assert.equal(sso.page, undefined, 'no page at all')
      const b = await redeem(rp2, sso.location)
      assert.equal(b.id.selected_roleid, second)
      assert.equal(b.id.sid, a.id.sid)

      // changedrole: the picker again (no password), and the new choice comes back.
      const change = shown(await browser.go(url(rp2, { scope: 'openid changedrole' })))
      assert.ok(isRolePicker(change))
      assert.ok(!isPasswordForm(change))
      const changed = await post(browser, change, '/role', { role: first })
      const c = await redeem(rp2, changed.location)
      assert.equal(c.id.selected_roleid, first)
      assert.equal(c.id.sid, a.id.sid)
      assert.equal((await userinfo(careid, c.access_token)).selected_roleid, first)

      // The session now holds the new role for everyone.
      const again = await browser.go(url(rp, { scope: 'openid selectedrole' }))
      assert.equal(again.page, undefined)
      assert.equal((await redeem(rp, again.location)).id.selected_roleid, first)
    })

    it('posting a role the person does not hold shows the picker again with 400, and no code', async () => {
      const patel = person('dr.patel')
      const nurse = person('nurse.jones')
      const browser = new Browser(careid.origin)
      const picker = shown(await passwordOnly(browser, url(rp, { scope: 'openid selectedrole' }), patel))
      for (const role of [nurse.positions[0]?.person_roleid as string, '']) {
        const refused = await post(browser, picker, '/role', { role })
        assert.equal(refused.location, undefined, 'no redirect to the client')
        const page = shown(refused)
        assert.equal(page.status, 400)
        assert.deepEqual(radioValues(page, 'role').sort(), patel.positions.map((p) => p.person_roleid).sort())
        assert.ok(text(page).includes('Select the role you want to use'))
      }
      // The journey is still usable afterwards.
      const done = await post(browser, picker, '/role', { role: patel.positions[0]?.person_roleid as string })
      assert.equal((await redeem(rp, done.location)).id.selected_roleid, patel.positions[0]?.person_roleid)
    })
  })

  describe('acr_values (cis2.md 3.6)', () => {
    it('AAL1_USERPASS offers only the password: straight to the password form', async () => {
      const nurse = person('nurse.jones')
      const browser = new Browser(careid.origin)
      const page = shown(await browser.go(url(rp, { scope: 'openid' })))
      assert.equal(page.status, 200)
      assert.ok(isPasswordForm(page))
      assert.ok(text(page).includes('You are signing in with: Username and password'))
      assert.ok(!page.html.includes('/method"'), 'no choice of method')
      assert.ok(!page.html.includes('/back"'), 'nothing to go back to')
      const done = await post(browser, page, '/authenticate', { username: nurse.username, password: password(nurse) })
      const tokens = await redeem(rp, done.location)
      assert.equal(tokens.id.acr, 'AAL1_USERPASS')
      assert.deepEqual(tokens.id.amr, ['USERPASS'])
      assert.equal(tokens.id.authentication_assurance_level, '1')
    })

    it('AAL2_TOTP offers only the authenticator app: password then code, no choice', async () => {
      const brown = person('reception.brown')
      const { location, pages } = await signIn(new Browser(careid.origin), url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP' }), {
        username: brown.username,
        password: password(brown),
        code: () => careid.totp(brown.uid),
      })
      assert.equal(pages.length, 2)
      assert.ok(isPasswordForm(pages[0] as PageResult))
      assert.ok(text(pages[0] as PageResult).includes('You are signing in with: Authenticator app'))
      assert.ok((pages[1] as PageResult).html.includes('name="code"'))
      assert.ok(!pages.some((p) => p.html.includes('/method"')), 'never a choice page')
      const tokens = await redeem(rp, location)
      assert.equal(tokens.id.acr, 'AAL2_TOTP')
      assert.deepEqual(tokens.id.amr, ['TOTP'])
      assert.equal(tokens.id.authentication_assurance_level, '2')
    })

    it('"AAL2_OR_AAL3_ANY AAL1_USERPASS" offers all three; acr is the first requested class the method met', async () => {
      const requested = 'AAL2_OR_AAL3_ANY AAL1_USERPASS'
      // Password (AAL1) does not meet AAL2_OR_AAL3_ANY, so the second class is the one met.
      const taylor = person('midwife.taylor')
      const browser = new Browser(careid.origin)
      const choice = shown(await browser.go(url(rp, { scope: 'openid', acr_values: requested })))
      assert.equal(choice.status, 200)
      assert.deepEqual(radioValues(choice, 'method'), ['password', 'totp', 'smartcard', 'security_key', 'windows_hello', 'passkey', 'mobile'])
      const byPassword = await signIn(browser, url(rp, { scope: 'openid', acr_values: requested }), { username: taylor.username, password: password(taylor), method: 'password' })
      const t1 = await redeem(rp, byPassword.location)
      assert.equal(t1.id.acr, 'AAL1_USERPASS')
      assert.deepEqual(t1.id.amr, ['USERPASS'])

      // TOTP (AAL2) meets the first class.
      const starter = person('new.starter')
      const byTotp = await signIn(new Browser(careid.origin), url(rp, { scope: 'openid', acr_values: requested }), {
        username: starter.username,
        password: password(starter),
        method: 'totp',
        code: () => careid.totp(starter.uid),
      })
      const t2 = await redeem(rp, byTotp.location)
      assert.equal(t2.id.acr, 'AAL2_OR_AAL3_ANY')
      assert.deepEqual(t2.id.amr, ['TOTP'])

      // The order of the request decides: TOTP meets both of these, and the first is named.
      const clark = person('agency.clark')
      const ordered = await signIn(new Browser(careid.origin), url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP AAL2_OR_AAL3_ANY' }), {
        username: clark.username,
        password: password(clark),
        code: () => careid.totp(clark.uid),
      })
      assert.equal((await redeem(rp, ordered.location)).id.acr, 'AAL2_TOTP')
    })

    it('continuing from the method choice with nothing chosen shows the choice again with 400, the error summary and the inline error', async () => {
      const nurse = person('nurse.jones')
      const browser = new Browser(careid.origin)
      const choice = shown(await browser.go(url(rp, { scope: 'openid', acr_values: 'AAL2_OR_AAL3_ANY AAL1_USERPASS' })))
      for (const method of [undefined, '', 'no-such-method']) {
        const refused = await post(browser, choice, '/method', method === undefined ? {} : { method })
        assert.equal(refused.location, undefined, 'no redirect to the client')
        const page = shown(refused)
        assert.equal(page.status, 400)
        assert.match(page.html, /<title>Error: How do you want to sign in\? – Careid<\/title>/)
        const summary = /<div class="nhsuk-error-summary"[\s\S]*?<\/div>/.exec(page.html)?.[0] ?? ''
        assert.ok(summary.includes('There is a problem'), 'the error summary')
        assert.match(summary, /<a href="#method">\s*Select how you want to sign in\s*<\/a>/)
        // The summary's link lands on the first radio.
        assert.match(page.html, /<input class="nhsuk-radios__input" id="method"[^>]*value="password"/)
        assert.match(page.html, /<div class="nhsuk-form-group nhsuk-form-group--error">\s*<fieldset class="nhsuk-fieldset" aria-describedby="method-error">/)
        assert.match(page.html, /<span class="nhsuk-error-message" id="method-error">\s*<span class="nhsuk-u-visually-hidden">Error: <\/span>Select how you want to sign in\s*<\/span>/)
        assert.deepEqual(radioValues(page, 'method'), ['password', 'totp', 'smartcard', 'security_key', 'windows_hello', 'passkey', 'mobile'])
      }
      // The journey is still usable afterwards.
      const passwordPage = shown(await post(browser, choice, '/method', { method: 'password' }))
      assert.ok(isPasswordForm(passwordPage))
      const done = await post(browser, passwordPage, '/authenticate', { username: nurse.username, password: password(nurse) })
      assert.equal((await redeem(rp, done.location)).id.acr, 'AAL1_USERPASS')
    })

    for (const [name, acr] of [
      ['AAL3_ANY', 'AAL3_ANY'],
      ['no acr_values (CIS2 behaves as AAL3)', undefined],
    ] as const) {
      it(`${name}: only the AAL3 methods are offered (smartcard, security key, Windows Hello, passkey, the app on a tablet or phone)`, async () => {
        const page = shown(await new Browser(careid.origin).go(url(rp, { scope: 'openid', acr_values: acr })))
        assert.equal(page.status, 200)
        assert.deepEqual(radioValues(page, 'method'), ['smartcard', 'security_key', 'windows_hello', 'passkey', 'mobile'])
        assert.ok(!isPasswordForm(page))
      })
    }

    for (const [name, acr] of [
      ['AAL3_SMARTCARD', 'AAL3_SMARTCARD'],
      ['AAL3_N3_SMARTCARD', 'AAL3_N3_SMARTCARD'],
    ] as const) {
      it(`${name}: only a smartcard meets it, so Careid goes straight to the smartcard page`, async () => {
        const landing = await new Browser(careid.origin).go(url(rp, { scope: 'openid', acr_values: acr }))
        assert.equal(landing.location, undefined, 'no redirect to the client')
        const page = shown(landing)
        assert.equal(page.status, 200)
        assert.equal(h1(page).replace(/\s+/g, ' '), 'Sign in to Ward app Sign in with your smartcard')
        assert.deepEqual(radioValues(page, 'method'), [], 'nothing to choose')
        assert.ok(!isPasswordForm(page))
      })
    }

    for (const [name, acr] of [
      ['AAL2_NHSMAIL', 'AAL2_NHSMAIL'],
    ] as const) {
      it(`${name}: a 403 page saying no available method meets the requirement, no redirect, no way forward`, async () => {
        const browser = new Browser(careid.origin)
        const landing = await browser.go(url(rp, { scope: 'openid', acr_values: acr }))
        assert.equal(landing.location, undefined, 'no redirect to the client')
        const page = shown(landing)
        assert.equal(page.status, 403)
        assert.equal(h1(page).replace(/\s+/g, ' '), 'Sign in to Ward app You cannot sign in to this application')
        assert.ok(text(page).includes('None of your sign-in methods meets the assurance level that Ward app requires'))
        assert.deepEqual(radioValues(page, 'method'), [], 'nothing to choose')
        assert.deepEqual(forms(page), [], 'no form to go on with')
        // Posting a method anyway (the page has no anti-forgery token to post) gets an error page.
        const forced = await browser.go(`${page.url}/method`, { form: { method: 'password' } })
        assert.equal(forced.location, undefined, 'no redirect to the client')
        assert.equal(shown(forced).status, 400)
        assert.ok(text(shown(forced)).includes('Error code: invalid_request'))
        assert.ok(!isPasswordForm(shown(forced)))
        // Coming back to the journey shows the same dead end.
        const again = shown(await browser.go(page.url))
        assert.equal(again.status, 403)
        assert.ok(!isPasswordForm(again))
      })
    }
  })

  describe('when an existing session answers', () => {
    it('step-up: a password session asked for AAL2_TOTP signs in again with TOTP, keeping the sid', async () => {
      const whitfield = person('ra.whitfield')
      const browser = new Browser(careid.origin)
      const first = await signIn(browser, url(rp, { scope: 'openid' }), { username: whitfield.username, password: password(whitfield) })
      const t1 = await redeem(rp, first.location)
      assert.equal(t1.id.acr, 'AAL1_USERPASS')
      await nextSecond()

      const stepUp = await signIn(browser, url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP' }), {
        username: whitfield.username,
        password: password(whitfield),
        code: () => careid.totp(whitfield.uid),
      })
      assert.ok(stepUp.pages.some((p) => p.html.includes('name="code"')), 'asked for the code')
      const t2 = await redeem(rp, stepUp.location)
      assert.equal(t2.id.sub, whitfield.uid)
      assert.equal(t2.id.sid, t1.id.sid, 'same person, same session')
      assert.ok((t2.id.auth_time as number) > (t1.id.auth_time as number), 'a fresh authentication')
      assert.deepEqual(t2.id.amr, ['TOTP'])
      assert.equal(t2.id.acr, 'AAL2_TOTP')
      assert.equal(t2.id.authentication_assurance_level, '2')

      // The stepped-up session now also answers the password-level request without pages.
      const sso = await browser.go(url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP' }))
      assert.equal(sso.page, undefined)
      assert.equal((await redeem(rp, sso.location)).id.sid, t1.id.sid)
    })

    it('prompt=none with a password session and an AAL2 request: login_required by redirect', async () => {
      const taylor = person('midwife.taylor')
      const browser = new Browser(careid.origin)
      await redeem(rp, (await passwordOnly(browser, url(rp, { scope: 'openid' }), taylor)).location)
      const params = await errorRedirect(browser, rp, url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP', prompt: 'none', state: 'pn1' }))
      assert.equal(params.get('error'), 'login_required')
      assert.equal(params.get('state'), 'pn1')
      // The same session still answers what it does meet.
      const ok = await browser.go(url(rp, { scope: 'openid', prompt: 'none' }))
      assert.equal((await redeem(rp, ok.location)).id.sub, taylor.uid)
    })

    it('prompt=none when a role must be chosen: interaction_required by redirect', async () => {
      const patel = person('dr.patel')
      const browser = new Browser(careid.origin)
      await redeem(rp, (await passwordOnly(browser, url(rp, { scope: 'openid' }), patel)).location)
      const params = await errorRedirect(browser, rp, url(rp, { scope: 'openid selectedrole', prompt: 'none', state: 'pn2' }))
      assert.equal(params.get('error'), 'interaction_required')
      assert.equal(params.get('state'), 'pn2')
    })

    it('an id_token_hint naming another person than the one signed in: prompt=none gives login_required', async () => {
      const nurse = person('nurse.jones')
      const patel = person('dr.patel')
      const nurseTokens = await redeem(rp, (await passwordOnly(new Browser(careid.origin), url(rp, { scope: 'openid' }), nurse)).location)
      const browser = new Browser(careid.origin)
      const patelTokens = await redeem(rp, (await passwordOnly(browser, url(rp, { scope: 'openid' }), patel)).location)

      const params = await errorRedirect(browser, rp, url(rp, { scope: 'openid', prompt: 'none', id_token_hint: nurseTokens.id_token, state: 'pn3' }))
      assert.equal(params.get('error'), 'login_required')
      assert.equal(params.get('state'), 'pn3')
      // Their own ID token as the hint is answered.
      const own = await browser.go(url(rp, { scope: 'openid', prompt: 'none', id_token_hint: patelTokens.id_token }))
      assert.equal((await redeem(rp, own.location)).id.sub, patel.uid)
    })

    it('max_age: a session younger than max_age answers; older needs a new sign-in (login_required with prompt=none)', async () => {
      const hughes = person('dr.hughes')
      const browser = new Browser(careid.origin)
      const t1 = await redeem(rp, (await passwordOnly(browser, url(rp, { scope: 'openid' }), hughes)).location)

      const young = await browser.go(url(rp, { scope: 'openid', prompt: 'none', max_age: '3600' }))
      const t2 = await redeem(rp, young.location)
      assert.equal(t2.id.auth_time, t1.id.auth_time, 'answered from the session')
      await nextSecond()

      const params = await errorRedirect(browser, rp, url(rp, { scope: 'openid', prompt: 'none', max_age: '0', state: 'ma' }))
      assert.equal(params.get('error'), 'login_required')
      assert.equal(params.get('state'), 'ma')

      const again = await passwordOnly(browser, url(rp, { scope: 'openid', max_age: '0' }), hughes)
      const t3 = await redeem(rp, again.location)
      assert.equal(t3.id.sid, t1.id.sid)
      assert.ok((t3.id.auth_time as number) > (t1.id.auth_time as number))
    })

    it('login_hint prefills the username field of the password and TOTP forms', async () => {
      const browser = new Browser(careid.origin)
      const page = shown(await browser.go(url(rp, { scope: 'openid', login_hint: 'dr.patel' })))
      assert.equal(inputValue(page, 'username'), 'dr.patel')
      const totp = shown(await browser.go(url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP', login_hint: "o'neill\"<x>" })))
      assert.ok(isPasswordForm(totp))
      assert.equal(inputValue(totp, 'username'), "o'neill\"<x>", 'escaped and returned intact')
      const plain = shown(await browser.go(url(rp, { scope: 'openid' })))
      assert.equal(inputValue(plain, 'username'), undefined, 'no hint, no value')
    })
  })

  describe('lockouts', () => {
    it('five wrong passwords from one address back that username off there only: the 5th and later answers say wait, even the right password, and the worker signs in from another address', async () => {
      await freshBackoffWindow()
      const singh = person('pharm.singh')
      const attacker = { localAddress: '127.0.0.2' }
      const browser = new Browser(careid.origin, attacker)
      let page = shown(await browser.go(url(rp, { scope: 'openid' })))
      for (let attempt = 1; attempt <= 6; attempt++) {
        const answer = await post(browser, page, '/authenticate', { username: singh.username, password: `wrong-${attempt}` })
        assert.equal(answer.location, undefined)
        page = shown(answer)
        assert.equal(page.status, 400)
        if (attempt < 5) {
          assert.ok(text(page).includes('Enter a correct username and password'), `attempt ${attempt}`)
          assert.ok(!text(page).includes('Too many incorrect attempts'), `attempt ${attempt}`)
        } else {
          assert.match(text(page), /Too many incorrect attempts\. You can try again in [1-5] minutes?/, `attempt ${attempt}`)
        }
      }
      const right = await post(browser, page, '/authenticate', { username: singh.username, password: password(singh) })
      assert.equal(right.location, undefined, 'the right password does not get in from the backed-off address')
      assert.equal(shown(right).status, 400)
      assert.ok(text(shown(right)).includes('Too many incorrect attempts'))
      // The back-off is the address's, not the journey's: a new browser there waits too.
      const again = await passwordOnly(new Browser(careid.origin, attacker), url(rp, { scope: 'openid' }), singh)
      assert.equal(again.location, undefined)
      assert.ok(text(shown(again)).includes('Too many incorrect attempts'))

      // The account itself is not locked: five failures count towards the hard limit of 100 only.
      const credentials = await careid.context.store.credentials.listByPerson(singh.uid)
      assert.deepEqual(credentials.find((c) => c.kind === 'password')?.state, { failures: 5 })
      assert.deepEqual(credentials.find((c) => c.kind === 'totp')?.state, {}, 'TOTP has a lockout of its own')
      // The worker, at their own computer, signs in.
      const worker = await passwordOnly(new Browser(careid.origin, { localAddress: '127.0.0.3' }), url(rp, { scope: 'openid' }), singh)
      assert.equal((await redeem(rp, worker.location)).id.sub, singh.uid)
    })

    it('an unknown username, a locked password and a wrong password get byte-identical pages and status', async () => {
      const store = careid.context.store
      const template = person('nurse.jones')
      const addPerson = async (uid: string, username: string) => {
        await store.people.put(uid, username, { ...template, uid, username } as unknown as Json)
        await enrolPassword(store, uid, 'their own passphrase', Date.now())
      }
      await addPerson('555099000001', 'locked.worker')
      await addPerson('555099000002', 'wrong.worker')
      const [lockedPassword] = await store.credentials.listByPerson('555099000001')
      assert.ok(lockedPassword)
      assert.equal(await store.credentials.updateState(lockedPassword.id, lockedPassword.version, { locked_at: Date.now() }), true)

      const browser = new Browser(careid.origin)
      const page = shown(await browser.go(url(rp, { scope: 'openid' })))
      const answers: Array<{ status: number; html: string; type: string | null }> = []
      for (const [username, typed] of [['no.such.worker', 'their own passphrase'], ['locked.worker', 'their own passphrase'], ['wrong.worker', 'not their passphrase']] as const) {
        const answer = shown(await post(browser, page, '/authenticate', { username, password: typed }))
        // The username is put back in the form: the one difference, as each post typed its own.
        assert.equal(answer.html.split(`value="${username}"`).length, 2, `${username} is echoed once`)
        answers.push({ status: answer.status, html: answer.html.replace(`value="${username}"`, 'value="…"'), type: answer.headers.get('content-type') })
      }
      assert.equal(answers[0]?.status, 400)
      assert.ok(answers[0]?.html.includes('Enter a correct username and password'))
      assert.deepEqual(answers[1], answers[0], 'a locked password is answered as an unknown username')
      assert.deepEqual(answers[2], answers[0], 'a wrong password is answered as an unknown username')
    })

    it('a TOTP code is good once: using it again says it was already used', async () => {
      const walker = person('dentist.walker')
      let used = ''
      const first = await signIn(new Browser(careid.origin), url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP' }), {
        username: walker.username,
        password: password(walker),
        code: async () => (used = await careid.totp(walker.uid)),
      })
      assert.equal((await redeem(rp, first.location)).id.sub, walker.uid)

      const browser = new Browser(careid.origin)
      const codePage = shown(await passwordOnly(browser, url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP' }), walker))
      assert.ok(codePage.html.includes('name="code"'))
      const replay = await post(browser, codePage, '/authenticate', { code: used })
      assert.equal(replay.location, undefined, 'no code for a replayed TOTP')
      assert.equal(shown(replay).status, 400)
      assert.ok(text(shown(replay)).includes('That code has already been used'))
    })

    it('wrong TOTP codes lock TOTP: the right code is then refused, and the password step says so', async () => {
      const hughes = person('dr.hughes')
      // Codes the person's app shows around now (the accepted window, and the step that may begin
      // while the test runs) are never sent as "wrong".
      const t = Date.now()
      const near = new Set(await Promise.all([-30_000, 0, 30_000, 60_000].map((d) => careid.totp(hughes.uid, t + d))))
      const wrong = ['000000', '111111', '222222', '333333', '444444', '555555', '666666'].filter((c) => !near.has(c))

      const browser = new Browser(careid.origin)
      let page = shown(await passwordOnly(browser, url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP' }), hughes))
      for (let attempt = 1; attempt <= 5; attempt++) {
        const answer = await post(browser, page, '/authenticate', { code: wrong[attempt - 1] as string })
        assert.equal(answer.location, undefined)
        page = shown(answer)
        assert.equal(page.status, 400)
        if (attempt < 5) assert.ok(text(page).includes('Enter the correct 6-digit code'), `attempt ${attempt}`)
        else assert.ok(text(page).includes('Too many incorrect codes. You can try again in 15 minutes'), `attempt ${attempt}`)
      }
      const right = await post(browser, page, '/authenticate', { code: await careid.totp(hughes.uid) })
      assert.equal(right.location, undefined)
      assert.ok(text(shown(right)).includes('Too many incorrect codes'))

      const credentials = await careid.context.store.credentials.listByPerson(hughes.uid)
      assert.ok((credentials.find((c) => c.kind === 'totp')?.state.locked_until as number) > Date.now())
      assert.equal(credentials.find((c) => c.kind === 'password')?.state.locked_until, undefined, 'the password is not locked')
      // A new sign-in learns of the lock right after the (right) password.
      const fresh = await passwordOnly(new Browser(careid.origin), url(rp, { scope: 'openid', acr_values: 'AAL2_TOTP' }), hughes)
      assert.equal(fresh.location, undefined)
      assert.ok(isPasswordForm(shown(fresh)))
      assert.ok(text(shown(fresh)).includes('Too many incorrect attempts'))
    })
  })
})
