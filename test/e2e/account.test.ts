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
export async function signInToAccount(browser: Browser, start: string, who: { username: string; password: string; code?: () => Promise<string>; method?: 'password' | 'totp' }): Promise<PageResult> {
  let landing = await browser.go(start)
  for (let step = 0; step < 8; step++) {
    const page = landing.page
    assert.ok(page !== undefined, `left Careid for ${landing.location}`)
    if (h1(page).endsWith('Your sign-in methods')) return page
    if (page.html.includes('/method"')) {
      const f = form(page, '/method')
      landing = await browser.go(f.action, { form: { ...f.fields, method: who.method ?? (who.code === undefined ? 'password' : 'totp') } })
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

  it('takes the callback once, in the browser that started it only', async () => {
    const ada = person('nurse.jones')
    const browser = new Browser(careid.origin)
    await signInToAccount(browser, `${base}/account`, { username: ada.username, password: password(ada), code: () => careid.totp(ada.uid, Date.now() + 30_000) })
    // With the session live, the next round answers at once: the callback with a code.
    assert.equal((await browser.fetch(`${base}/account`)).status, 200, 'signed in: the page itself')
    const round = await browser.fetch(`${base}/account/sign-in?level=2`)
    const authorize = round.headers.get('location') as string
    assert.equal(new URL(authorize).searchParams.get('prompt'), 'login')
    assert.equal(new URL(authorize).searchParams.get('acr_values'), 'AAL2_ANY')

    // A fresh browser signing in: capture the callback URL on the way.
    const other = new Browser(careid.origin)
    const first = await other.fetch(`${base}/account`)
    const state = new URL(first.headers.get('location') as string).searchParams.get('state') as string
    const signedIn = await signInToAccount(other, first.headers.get('location') as string, { username: ada.username, password: password(ada), method: 'password' })
    assert.equal(signedIn.status, 200)
    const replay = await other.fetch(`${base}/account/callback?code=anything&state=${state}`)
    assert.equal(replay.status, 400, 'the state was used')
    assert.match(await replay.text(), /This sign-in has expired or was started in another browser/)

    // A state started in one browser, answered in another.
    const third = new Browser(careid.origin)
    const begun = await browser.fetch(`${base}/account/sign-in?level=2`)
    const stolen = new URL(begun.headers.get('location') as string).searchParams.get('state') as string
    const elsewhere = await third.fetch(`${base}/account/callback?code=anything&state=${stolen}`)
    assert.equal(elsewhere.status, 400)
    assert.match(await elsewhere.text(), /started in another browser/)
  })

  it('a password-only sign-in (AAL1) is not offered the authenticator app until it signs in again at AAL2', async () => {
    const worker = person('locum.okafor')
    const browser = new Browser(careid.origin)
    const page = await signInToAccount(browser, `${base}/account`, { username: worker.username, password: password(worker) })
    assert.match(page.html, /You signed in at authenticator assurance level 1\./)
    assert.ok(!forms(page).some((f) => f.action.endsWith('/account/add')), 'nothing to add at AAL1')
    assert.match(page.html, /Sign-in methods that need a stronger sign-in first/)
    const link = /<a href="([^"]+)">Sign in again at level 2 to add authenticator app<\/a>/.exec(page.html)?.[1]
    assert.ok(link !== undefined)

    // Posting the add form anyway (its token from this page) is refused, and starts nothing.
    const csrf = removeForms(page)[0]?.fields.csrf ?? ''
    const before = await credentialsOf(worker.uid)
    const refused = await browser.go(`${base}/account/add`, { form: { csrf, method: 'totp' } })
    assert.equal(refused.page?.status, 403)
    assert.match(refused.page?.html ?? '', /To add that sign-in method, first sign in again/)
    assert.deepEqual(await credentialsOf(worker.uid), before)

    // The step-up: the authorization endpoint again, prompt=login, AAL2_ANY; the app signs in.
    const stepped = await signInToAccount(browser, new URL(link.replaceAll('&amp;', '&'), page.url).href, { username: worker.username, password: password(worker), code: () => careid.totp(worker.uid) })
    assert.match(stepped.html, /You signed in at authenticator assurance level 2\./)
    assert.ok(forms(stepped).some((f) => f.action.endsWith('/account/add') && f.fields.method === 'totp'))
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
    const ceremony = await careid.context.store.interactions.get(new URL(setup.page?.url ?? '').pathname.split('/').pop() as string, Date.now())
    assert.ok(ceremony !== undefined && !JSON.stringify(ceremony.payload).includes(secret), 'the new secret is kept sealed, never in clear')
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

describe('removing sign-in methods', { concurrency: 1 }, () => {
  it('keeps the password while the app needs it, removes the app with its audit entry, and never the last method', async () => {
    const worker = person('reception.brown')
    const browser = new Browser(careid.origin)
    const page = await signInToAccount(browser, `${base}/account`, { username: worker.username, password: password(worker), code: () => careid.totp(worker.uid) })
    const [passwordForm, appForm] = [removeForms(page).find((f) => f.fields.kind === 'password'), removeForms(page).find((f) => f.fields.kind === 'totp')]
    assert.ok(passwordForm && appForm)
    const before = await credentialsOf(worker.uid)

    const needed = await browser.go(passwordForm.action, { form: passwordForm.fields })
    assert.equal(needed.page?.status, 400)
    assert.match(needed.page?.html ?? '', /another of your methods needs it/)
    assert.deepEqual(await credentialsOf(worker.uid), before)

    const removed = await browser.go(appForm.action, { form: appForm.fields })
    assert.equal(removed.page?.status, 200)
    assert.match(removed.page?.html ?? '', /Authenticator app removed/)
    assert.deepEqual((await credentialsOf(worker.uid)).map((c) => c.kind), ['password'])
    const [event] = await audit('credential.removed')
    assert.equal(event?.actor, worker.uid)
    assert.equal(event?.subject, worker.uid)
    assert.equal(event?.detail?.kind, 'totp')
    assert.equal(event?.detail?.credential_id, appForm.fields.id)

    // The password is now the only way in: no Remove button, and a forged post is refused.
    assert.equal(removeForms(removed.page as PageResult).length, 0)
    assert.match(removed.page?.html ?? '', /Your only way to sign in/)
    const last = await browser.go(passwordForm.action, { form: passwordForm.fields })
    assert.equal(last.page?.status, 400)
    assert.match(last.page?.html ?? '', /You cannot remove your only way to sign in/)
    assert.deepEqual((await credentialsOf(worker.uid)).map((c) => c.kind), ['password'])
    assert.equal((await audit('credential.removed')).length, 1)
  })
})

describe('refusals change nothing', { concurrency: 1 }, () => {
  it('a post without the page\'s anti-forgery token, and bad input, are refused', async () => {
    const worker = person('dentist.walker')
    const browser = new Browser(careid.origin)
    const page = await signInToAccount(browser, `${base}/account`, { username: worker.username, password: password(worker), code: () => careid.totp(worker.uid) })
    const before = await credentialsOf(worker.uid)
    const appForm = removeForms(page).find((f) => f.fields.kind === 'totp') as { action: string; fields: Record<string, string> }

    for (const csrf of ['', 'forged']) {
      const removal = await browser.go(appForm.action, { form: { ...appForm.fields, csrf } })
      assert.equal(removal.page?.status, 400)
      assert.match(removal.page?.html ?? '', /This page has expired/)
      const add = await browser.go(`${base}/account/add`, { form: { csrf, method: 'totp' } })
      assert.equal(add.page?.status, 400)
    }
    const unknownMethod = await browser.go(`${base}/account/add`, { form: { csrf: appForm.fields.csrf as string, method: 'carrier_pigeon' } })
    assert.equal(unknownMethod.page?.status, 400)
    assert.match(unknownMethod.page?.html ?? '', /Choose a sign-in method from this page/)
    const unknownId = await browser.go(appForm.action, { form: { ...appForm.fields, id: 'not-a-credential' } })
    assert.equal(unknownId.page?.status, 400)
    // Another person's credential id is no credential of this worker's.
    const othersApp = (await credentialsOf(person('dr.patel').uid)).find((c) => c.kind === 'totp')
    const others = await browser.go(appForm.action, { form: { ...appForm.fields, id: othersApp?.id as string } })
    assert.equal(others.page?.status, 400)
    assert.ok((await credentialsOf(person('dr.patel').uid)).some((c) => c.id === othersApp?.id))
    // Without a session, a post signs nobody in and removes nothing.
    const stranger = await new Browser(careid.origin).go(appForm.action, { form: appForm.fields })
    assert.equal(stranger.page?.status, 400)
    assert.deepEqual(await credentialsOf(worker.uid), before)
  })

  it('a ceremony goes on only in its own browser, and stops when the session ends', async () => {
    const worker = person('pharm.singh')
    const browser = new Browser(careid.origin)
    const page = await signInToAccount(browser, `${base}/account`, { username: worker.username, password: password(worker), code: () => careid.totp(worker.uid) })
    const add = forms(page).find((f) => f.action.endsWith('/account/add') && f.fields.method === 'totp')
    assert.ok(add)
    const setup = (await browser.go(add.action, { form: add.fields })).page as PageResult
    const step = form(setup, '')
    const secret = shownSecret(setup)
    const before = await credentialsOf(worker.uid)

    // Another browser, signed in as someone else, with the ceremony's URL and token.
    const other = new Browser(careid.origin)
    const intruder = person('new.starter')
    await signInToAccount(other, `${base}/account`, { username: intruder.username, password: password(intruder), code: () => careid.totp(intruder.uid) })
    const seen = await other.go(step.action)
    assert.equal(seen.page?.status, 400)
    const posted = await other.go(step.action, { form: { ...step.fields, code: currentTotpCode(secret, Date.now()) } })
    assert.equal(posted.page?.status, 400)
    assert.match(posted.page?.html ?? '', /This page has expired/)

    // The worker's session ends (an administrator ends it): the ceremony stops.
    await careid.provider.sessions.endBySub(worker.uid, 'admin')
    const ended = await browser.go(step.action, { form: { ...step.fields, code: currentTotpCode(secret, Date.now()) } })
    assert.equal(ended.page?.status, 400)
    assert.match(ended.page?.html ?? '', /Your sign-in has ended, so adding a sign-in method has stopped/)
    assert.deepEqual(await credentialsOf(worker.uid), before)
    assert.equal((await audit('credential.added')).filter((e) => e.subject === worker.uid).length, 0)
  })
})
