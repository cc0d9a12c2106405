/**
 * "Your sign-in methods" at {issuer}/account, driven over HTTP as a browser would: signing in to it
 * through the authorization endpoint (as Careid's own public client), listing, adding an
 * authenticator app from a session, the level rule and its step-up, removal with its audit entry
 * and the last method kept, and every refusal (anti-forgery, another browser, a session ended
 * meanwhile, bad input) changing nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { currentTotpCode } from '@careid/authenticators'
import type { AuditEvent, CredentialRecord } from '@careid/ports'
import { Browser, form, forms, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { password, person } from '../support/demo_people.ts'
import { h1 } from '../support/journey.ts'
import { addRp, authorizeUrl, baseUrl, redeem, type TestRp } from '../support/rp.ts'

let careid: TestCareid
let rp: TestRp
let base: string

before(async () => {
  careid = await startTestCareid({ settings: { signInRateLimit: '1000' } })
  rp = await addRp(careid)
  base = baseUrl(careid)
})
after(async () => careid?.close())

/** Signs `who` in to the account area from a fresh start, with the app (`code`) or the password alone; the account page at the end. */
export async function signInToAccount(browser: Browser, start: string, who: { username: string; password: string; code?: () => Promise<string> }): Promise<PageResult> {
  let landing = await browser.go(start)
  for (let step = 0; step < 8; step++) {
    const page = landing.page
    assert.ok(page !== undefined, `left Careid for ${landing.location}`)
    if (h1(page).endsWith('Your sign-in methods')) return page
    if (page.html.includes('/method"')) {
      const f = form(page, '/method')
      landing = await browser.go(f.action, { form: { ...f.fields, method: who.code === undefined ? 'password' : 'totp' } })
    } else if (page.html.includes('name="password"')) {
      const f = form(page, '/authenticate')
      landing = await browser.go(f.action, { form: { ...f.fields, username: who.username, password: who.password } })
    } else if (page.html.includes('name="code"') && who.code !== undefined) {
      const f = form(page, '/authenticate')
      landing = await browser.go(f.action, { form: { ...f.fields, code: await who.code() } })
    } else {
      throw new Error(`unexpected page ${page.status} "${h1(page)}" at ${page.url}`)
    }
  }
  throw new Error('did not reach the account page')
}

function credentialsOf(uid: string): Promise<CredentialRecord[]> {
  return careid.context.store.credentials.listByPerson(uid)
}

async function audit(type: string): Promise<AuditEvent[]> {
  return (await careid.context.store.audit.recent(200)).filter((e) => e.type === type)
}

/** The secret the app-setup page shows (spaces removed). */
function shownSecret(page: PageResult): string {
  const secret = /<code class="careid-secret" id="secret">([A-Z2-7 ]+)<\/code>/.exec(page.html)?.[1]
  assert.ok(secret !== undefined, 'the page shows the secret')
  return secret.replaceAll(' ', '')
}

/** The hidden `kind`/`id` of the Remove forms on the account page. */
function removeForms(page: PageResult) {
  return forms(page).filter((f) => f.action.endsWith('/account/remove'))
}

describe('the account area', { concurrency: 1 }, () => {
  it('signs the worker in through the authorization endpoint as its own client, and lists their credentials', async () => {
    const ada = person('nurse.jones')
    const browser = new Browser(careid.origin)
    const first = await browser.fetch(`${base}/account`)
    assert.equal(first.status, 302)
    const location = new URL(first.headers.get('location') as string)
    assert.equal(`${location.origin}${location.pathname}`, `${base}/authorize`)
    assert.equal(location.searchParams.get('client_id'), '000000000000.apps.national')
    assert.equal(location.searchParams.get('redirect_uri'), `${careid.issuer}/account/callback`)
    assert.equal(location.searchParams.get('code_challenge_method'), 'S256')
    assert.equal(location.searchParams.get('acr_values'), 'AAL1_USERPASS AAL2_ANY')
    assert.ok(browser.cookies.has('careid_browser'), 'the state is bound to this browser by its cookie')

    const page = await signInToAccount(browser, `${base}/account`, { username: ada.username, password: password(ada), code: () => careid.totp(ada.uid) })
    assert.equal(page.status, 200)
    assert.match(page.html, /You signed in at authenticator assurance level 2\./)
    assert.match(page.html, /<td class="nhsuk-table__cell">Password<\/td>/)
    assert.match(page.html, /<td class="nhsuk-table__cell">Authenticator app<\/td>/)
    assert.equal(removeForms(page).length, 2)
    // The authenticator app's enroller is at AAL2: offered to an AAL2 session.
    assert.ok(forms(page).some((f) => f.action.endsWith('/account/add') && f.fields.method === 'totp'))
  })

  it('a callback replayed, or from another browser, is refused and its code never redeemed twice', async () => {
    const ada = person('nurse.jones')
    const browser = new Browser(careid.origin)
    await signInToAccount(browser, `${base}/account`, { username: ada.username, password: password(ada), code: () => careid.totp(ada.uid, Date.now() + 30_000) })
    // A fresh sign-in round from the same session: the callback URL with its code and state.
    const start = await browser.fetch(`${base}/account/sign-in?level=2`)
    const authorize = start.headers.get('location') as string
    const answer = await browser.fetch(authorize)
    // prompt=login: the journey again.
    assert.equal(answer.status, 302)
    assert.match(answer.headers.get('location') as string, /\/interaction\//)

    const other = new Browser(careid.origin)
    const forged = await other.fetch(`${base}/account/callback?code=abc&state=${new URL(authorize).searchParams.get('state')}`)
    assert.equal(forged.status, 400)
    assert.match(await forged.text(), /started in another browser/)
  })
})

describe('adding an authenticator app from a session', { concurrency: 1 }, () => {
  it('shows a new secret, stores it only once a current code confirms it, audits it, and the new app signs in (AAL2_TOTP)', async () => {
    const grace = person('dr.patel')
    const browser = new Browser(careid.origin)
    const page = await signInToAccount(browser, `${base}/account`, { username: grace.username, password: password(grace), code: () => careid.totp(grace.uid) })
    const oldApp = (await credentialsOf(grace.uid)).find((c) => c.kind === 'totp')
    const add = forms(page).find((f) => f.action.endsWith('/account/add') && f.fields.method === 'totp')
    assert.ok(add)
    const setup = await browser.go(add.action, { form: add.fields })
    assert.equal(setup.page?.status, 200)
    assert.match(setup.page?.html ?? '', /Set up your authenticator app/)
    assert.match(setup.page?.html ?? '', /<img class="careid-qr" src="data:image\/png;base64,[A-Za-z0-9+/=]+"/)
    assert.match(setup.page?.html ?? '', /otpauth:\/\/totp\/Careid:/)
    const secret = shownSecret(setup.page as PageResult)
    // Not stored yet: the old app still works.
    assert.deepEqual((await credentialsOf(grace.uid)).find((c) => c.kind === 'totp')?.id, oldApp?.id)

    const step = form(setup.page as PageResult, '')
    const wrong = await browser.go(step.action, { form: { ...step.fields, code: '000000' === currentTotpCode(secret, Date.now()) ? '111111' : '000000' } })
    assert.equal(wrong.page?.status, 400)
    assert.match(wrong.page?.html ?? '', /Enter the 6-digit code your authenticator app shows now for Careid/)
    assert.equal((await credentialsOf(grace.uid)).find((c) => c.kind === 'totp')?.id, oldApp?.id, 'a wrong code changes nothing')

    const done = await browser.go(step.action, { form: { ...step.fields, code: currentTotpCode(secret, Date.now()) } })
    assert.equal(done.page?.status, 200)
    assert.equal(new URL(done.page?.url ?? '').search, '?added=totp')
    assert.match(done.page?.html ?? '', /Authenticator app added/)
    const newApp = (await credentialsOf(grace.uid)).find((c) => c.kind === 'totp')
    assert.notEqual(newApp?.id, oldApp?.id, 'the app was replaced')
    assert.equal(careid.context.secrets.open(newApp?.secret as string), secret)
    const [added] = await audit('credential.added')
    assert.equal(added?.actor, grace.uid)
    assert.equal(added?.subject, grace.uid)
    assert.deepEqual(added?.detail, { kind: 'totp', credential_id: newApp?.id, method: 'totp', aal: 2, via: 'session' })

    // The new app signs in to a relying party: AAL2_TOTP, amr TOTP. (The code that confirmed it is
    // spent, so the next time step's code.)
    const rpBrowser = new Browser(careid.origin)
    const { signIn } = await import('../support/journey.ts')
    const result = await signIn(rpBrowser, authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL2_TOTP', state: 's' }), {
      username: grace.username,
      password: password(grace),
      code: async () => currentTotpCode(secret, Date.now() + 30_000),
    })
    const tokens = await redeem(rp, result.location)
    assert.equal(tokens.id.acr, 'AAL2_TOTP')
    assert.deepEqual(tokens.id.amr, ['TOTP'])
    assert.equal(tokens.id.authentication_assurance_level, '2')
  })
})
