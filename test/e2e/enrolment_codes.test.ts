/**
 * The Registration Authority's one-time enrolment codes, end to end over HTTP: a worker with no
 * authenticator app enters their username and the code at {issuer}/account/enrol, sets the app up,
 * and signs in with it (AAL2_TOTP). A code is single use and expires; a wrong code, a used or
 * expired one, and an unknown or wrong username all get the same answer; the form is rate limited
 * per address; bad input changes nothing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createAdminServices, type AdminServices } from '@careid/admin'
import { currentTotpCode } from '@careid/authenticators'
import type { AeadSecretBox, AuditEvent } from '@careid/ports'
import { adminServices } from '../../packages/cli/src/commands/admin.ts'
import { Browser, form, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { password, person } from '../support/demo_people.ts'
import { h1, signIn } from '../support/journey.ts'
import { addRp, authorizeUrl, baseUrl, redeem, type TestRp } from '../support/rp.ts'

let careid: TestCareid
let rp: TestRp
let base: string
let admin: AdminServices

const sameAnswer = 'The username or enrolment code is not right, or the code has been used or has expired.'

before(async () => {
  careid = await startTestCareid({ settings: { signInRateLimit: '20' } })
  rp = await addRp(careid)
  base = baseUrl(careid)
  admin = adminServices(careid.context)
})
after(async () => careid?.close())

/** Takes the person's authenticator app away, as if they never had one. */
async function withoutApp(uid: string): Promise<void> {
  for (const c of await careid.context.store.credentials.listByPerson(uid)) if (c.kind === 'totp') await careid.context.store.credentials.remove(c.id)
}

function issue(username: string, options: { ttlMs?: number; services?: AdminServices } = {}) {
  return (options.services ?? admin).people.issueEnrolmentCode(username, 'totp', { methods: careid.provider.enrolmentMethods(), ttlMs: options.ttlMs }, 'cli:test-ra')
}

async function postCode(browser: Browser, fields: { username: string; code: string }): Promise<PageResult> {
  const page = (await browser.go(`${base}/account/enrol`)).page as PageResult
  assert.equal(page.status, 200)
  const f = form(page, '/account/enrol')
  const landing = await browser.go(f.action, { form: { ...f.fields, ...fields } })
  assert.ok(landing.page !== undefined)
  return landing.page
}

function shownSecret(page: PageResult): string {
  const secret = /<code class="careid-secret" id="secret">([A-Z2-7 ]+)<\/code>/.exec(page.html)?.[1]
  assert.ok(secret !== undefined, `the page shows the secret: ${h1(page)}`)
  return secret.replaceAll(' ', '')
}

async function events(type: string): Promise<AuditEvent[]> {
  return (await careid.context.store.audit.recent(200)).filter((e) => e.type === type)
}

describe('enrolment codes', { concurrency: 1 }, () => {
  it('a code sets up the authenticator app for a worker without one, who then signs in with it (AAL2_TOTP, amr TOTP)', async () => {
    const worker = person('pharm.singh')
    await withoutApp(worker.uid)
    const issued = await issue(worker.username)
    assert.match(issued.code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/)
    assert.equal(issued.url, `${careid.issuer}/account/enrol`)
    const stored = (await careid.context.store.credentials.listByPerson(worker.uid)).filter((c) => c.kind === 'enrolment_code')
    assert.equal(stored.length, 1)
    assert.ok(!JSON.stringify(stored).includes(issued.code.replaceAll('-', '')), 'the code is stored only hashed')
    assert.equal((await events('enrolment_code.issued'))[0]?.subject, worker.uid)

    const browser = new Browser(careid.origin)
    // Typed in lower case with spaces: the same code.
    const setup = await postCode(browser, { username: worker.username, code: issued.code.toLowerCase().replaceAll('-', ' ') })
    assert.equal(setup.status, 200)
    assert.match(setup.html, /Set up your authenticator app/)
    assert.doesNotMatch(setup.html, /nhsuk-back-link/, 'no list to go back to')
    assert.equal((await careid.context.store.credentials.listByPerson(worker.uid)).filter((c) => c.kind === 'enrolment_code').length, 0, 'the code is used up')
    const secret = shownSecret(setup)
    const f = form(setup, '')
    const done = await browser.go(f.action, { form: { ...f.fields, code: currentTotpCode(secret, Date.now()) } })
    assert.equal(done.page?.status, 200)
    assert.equal(h1(done.page as PageResult), 'Authenticator app set up')
    assert.match(done.page?.html ?? '', /choose <strong>Authenticator app<\/strong>/)
    const [added] = await events('credential.added')
    assert.equal(added?.actor, 'ra-code')
    assert.equal(added?.subject, worker.uid)
    assert.equal(added?.detail?.via, 'code')

    const result = await signIn(new Browser(careid.origin), authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL2_TOTP', state: 's' }), {
      username: worker.username,
      password: password(worker),
      code: async () => currentTotpCode(secret, Date.now() + 30_000),
    })
    const tokens = await redeem(rp, result.location)
    assert.equal(tokens.id.acr, 'AAL2_TOTP')
    assert.deepEqual(tokens.id.amr, ['TOTP'])
    assert.equal(tokens.id.sub, worker.uid)
  })

  it('a used code is refused with the same answer as a wrong one', async () => {
    const worker = person('reception.brown')
    await withoutApp(worker.uid)
    const issued = await issue(worker.username)
    const first = await postCode(new Browser(careid.origin), { username: worker.username, code: issued.code })
    assert.equal(first.status, 200)
    const again = await postCode(new Browser(careid.origin), { username: worker.username, code: issued.code })
    assert.equal(again.status, 400)
    assert.ok(again.html.includes(sameAnswer))
    const wrong = await postCode(new Browser(careid.origin), { username: worker.username, code: 'AAAA-BBBB-CCCC-DDDD-EEEE' })
    assert.equal(wrong.status, 400)
    assert.ok(wrong.html.includes(sameAnswer))
  })

  it('an expired code, an unknown username and another worker\'s username get the same answer, and a good code stays good', async () => {
    const worker = person('midwife.taylor')
    const other = person('dentist.walker')
    await withoutApp(worker.uid)
    const past = createAdminServices({ store: careid.context.store, secrets: careid.context.secrets as AeadSecretBox, keys: careid.context.keys, issuer: careid.issuer, announce: async () => undefined, now: () => Date.now() - 2 * 60_000 })
    const expired = await issue(worker.username, { services: past, ttlMs: 60_000 })
    const expiredAnswer = await postCode(new Browser(careid.origin), { username: worker.username, code: expired.code })
    assert.equal(expiredAnswer.status, 400)
    assert.ok(expiredAnswer.html.includes(sameAnswer))

    const good = await issue(worker.username)
    for (const username of ['no.such.person', other.username]) {
      const page = await postCode(new Browser(careid.origin), { username, code: good.code })
      assert.equal(page.status, 400)
      assert.ok(page.html.includes(sameAnswer))
      assert.ok(page.html.includes(`value="${username}"`), 'the username is put back')
    }
    assert.equal((await careid.context.store.credentials.listByPerson(other.uid)).filter((c) => c.kind === 'totp').length, 1, 'nothing changed for the other worker')
    const ok = await postCode(new Browser(careid.origin), { username: worker.username, code: good.code })
    assert.equal(ok.status, 200)
    assert.match(ok.html, /Set up your authenticator app/)
  })

  it('is refused for a method without an enroller, with a precise message, storing nothing', async () => {
    const worker = person('new.starter')
    const before = await careid.context.store.credentials.listByPerson(worker.uid)
    await assert.rejects(admin.people.issueEnrolmentCode(worker.username, 'smartcard', { methods: careid.provider.enrolmentMethods() }, 'cli:test-ra'), {
      message: 'no enrolment is offered for the method smartcard; codes can be issued for: totp',
    })
    assert.deepEqual(await careid.context.store.credentials.listByPerson(worker.uid), before)
  })

  it('refuses a post without the form\'s anti-forgery token, or with missing fields, changing nothing', async () => {
    const worker = person('dentist.walker')
    const issued = await issue(worker.username)
    const browser = new Browser(careid.origin)
    const page = (await browser.go(`${base}/account/enrol`)).page as PageResult
    const f = form(page, '/account/enrol')
    const forged = await browser.go(f.action, { form: { csrf: 'forged', username: worker.username, code: issued.code } })
    assert.equal(forged.page?.status, 400)
    assert.match(forged.page?.html ?? '', /This page has expired/)
    const missing = await browser.go(f.action, { form: { ...f.fields, username: worker.username, code: '' } })
    assert.equal(missing.page?.status, 400)
    assert.match(missing.page?.html ?? '', /Enter your username and the enrolment code/)
    assert.equal((await careid.context.store.credentials.listByPerson(worker.uid)).filter((c) => c.kind === 'enrolment_code').length, 1, 'the code is still unused')
  })
})
