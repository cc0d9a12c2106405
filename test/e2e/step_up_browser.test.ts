/**
 * Step-up in a real browser (headless Chromium): a worker whose security key a Registration
 * Authority's enrolment code let them register in the account area (Chromium's virtual `ctap2`
 * authenticator over `usb`, with user verification, standing in for a YubiKey) signs in to an
 * application with the authenticator app (AAL2); the application then asks for `AAL3_ANY`, Careid
 * offers AAL3 methods only, and the security key signs the worker in again in the same session:
 * the same `sid` with a new cookie secret, and the ID token's `acr`, `amr`, `auth_time` and
 * assurance level are the security key's. The method-specific `AAL3_FIDO2` is then met by the same
 * session; the tokens from before keep the authenticator app's facts. The next sign-in starts with
 * the security key, the method last used, and "Use another way to sign in" leads to the choice.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { decodeJwt } from 'jose'
import type { BrowserContext, Page } from 'playwright-core'
import type { AdminServices } from '@careid/admin'
import { adminServices } from '../../packages/cli/src/commands/admin.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { password, person } from '../support/demo_people.ts'
import { authorizeUrl, baseUrl, redeem, type TestRp } from '../support/rp.ts'
import { chromium, requires } from '../support/system_packages.ts'
import { enrolWithCode, heading, landingRp, virtualAuthenticators, webAuthnTab, type WebAuthnTab } from '../support/webauthn_browser.ts'

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

/** Waits for the next whole second, so that a later sign-in's auth_time (in seconds) is later. */
function nextSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000)))
}

/** Presses the page's first form button and waits for what it leads to. */
async function submit(page: Page): Promise<void> {
  await Promise.all([page.waitForEvent('framenavigated'), page.locator('form button').first().click()])
}

async function methodsOffered(page: Page): Promise<string[]> {
  const inputs = page.locator('input[name="method"]')
  return Promise.all((await inputs.all()).map(async (input) => (await input.getAttribute('value')) ?? ''))
}

describe('step-up from the authenticator app to a security key, in a real browser', { ...requires(chromium), concurrency: 1 }, () => {
  let careid: TestCareid
  let rp: TestRp & { close(): Promise<void> }
  let base: string
  let admin: AdminServices
  let work: string
  let context: BrowserContext

  before(async () => {
    // Pages, not a handoff to an Identity Agent; the test authenticators' attestation is trusted (the demo's default).
    careid = await startTestCareid({ config: { agentHandoff: 'never' }, settings: { signInRateLimit: '1000' } })
    rp = await landingRp(careid)
    base = baseUrl(careid)
    admin = adminServices(careid.context)
    work = mkdtempSync(join(tmpdir(), 'careid-step-up-'))
    ;({ context } = await launchChromium(join(work, 'chromium')))
  })
  after(async () => {
    await context?.close()
    await rp?.close()
    await careid?.close()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  async function cookie(name: string): Promise<string | undefined> {
    return (await context.cookies(base)).find((c) => c.name === name)?.value
  }

  /** Goes to `url` and waits until the browser lands at the relying party: its tokens. */
  async function landAndRedeem(tab: WebAuthnTab) {
    await tab.page.waitForURL((u) => u.href.startsWith(rp.redirect_uri), { timeout: 30_000 })
    return redeem(rp, tab.page.url())
  }

  it('AAL2 with the authenticator app, then AAL3_ANY: AAL3 methods only, and the security key signs in again in the same session with its acr, amr and auth_time', async () => {
    const worker = person('locum.okafor')
    const tab = await webAuthnTab(context)
    const { page } = tab
    const securityKey = await tab.add(virtualAuthenticators.securityKey)

    // The Registration Authority's code lets the worker register the security key in the account area.
    const registered = await enrolWithCode(tab, careid, admin, base, worker.username, 'security_key', 'Add a security key')
    assert.equal(await heading(registered), 'Security key set up')
    const [key] = (await careid.context.store.credentials.listByPerson(worker.uid)).filter((c) => c.kind === 'webauthn')
    assert.deepEqual([key?.state['webauthn_kind'], key?.state['level']], ['security_key', 3])
    assert.equal(await cookie('careid_session'), undefined, 'registering signed nobody in')

    // 1. The application asks for AAL2 or AAL3; the worker signs in with the authenticator app.
    await page.goto(authorizeUrl(rp, { scope: 'openid', state: 'aal2', nonce: 'n-aal2', acr_values: 'AAL2_OR_AAL3_ANY' }))
    assert.ok((await methodsOffered(page)).includes('totp'))
    await page.check('input[name="method"][value="totp"]')
    await submit(page)
    await page.fill('input[name="username"]', worker.username)
    await page.fill('input[name="password"]', password(worker))
    await submit(page)
    assert.match(await heading(page), /Enter the code from your authenticator app$/)
    await page.fill('input[name="code"]', await careid.totp(worker.uid))
    await submit(page)
    const aal2 = await landAndRedeem(tab)
    assert.deepEqual([aal2.id.sub, aal2.id.acr, aal2.id.amr, aal2.id.authentication_assurance_level], [worker.uid, 'AAL2_OR_AAL3_ANY', ['TOTP'], '2'])
    const aal2Secret = await cookie('careid_session')
    assert.ok(aal2Secret)
    assert.equal(await cookie('careid_method'), 'totp')
    await nextSecond()

    // 2. The application needs AAL3: only AAL3 methods are offered (the remembered authenticator app is not one).
    const stepUpStarted = Math.floor(Date.now() / 1000)
    await page.goto(authorizeUrl(rp, { scope: 'openid', state: 'aal3', nonce: 'n-aal3', acr_values: 'AAL3_ANY' }))
    const offered = await methodsOffered(page)
    assert.ok(offered.includes('security_key') && offered.includes('smartcard'), offered.join(', '))
    assert.deepEqual(offered.filter((m) => ['password', 'totp'].includes(m)), [], 'no AAL1 or AAL2 method')
    await page.check('input[name="method"][value="security_key"]')
    await submit(page)
    // The security key's page starts the ceremony by itself; the virtual key answers with user verification.
    const aal3 = await landAndRedeem(tab)
    const stepUpEnded = Math.floor(Date.now() / 1000)

    assert.equal(aal3.id.sub, worker.uid)
    assert.equal(aal3.id.sid, aal2.id.sid, 'the same session')
    assert.equal(aal3.id.acr, 'AAL3_ANY')
    assert.deepEqual(aal3.id.amr, ['FIDO2'])
    assert.equal(aal3.id.authentication_assurance_level, '3')
    const authTime = aal3.id.auth_time as number
    assert.ok(authTime > (aal2.id.auth_time as number), 'a fresh authentication')
    assert.ok(authTime >= stepUpStarted && authTime <= stepUpEnded, `auth_time ${authTime} is the step-up's (${stepUpStarted} to ${stepUpEnded})`)
    assert.equal(aal3.id.nonce, 'n-aal3')

    // A new secret for the same session; the old one finds nothing.
    const aal3Secret = await cookie('careid_session')
    assert.ok(aal3Secret)
    assert.notEqual(aal3Secret, aal2Secret)
    assert.equal(await careid.context.store.sessions.get(sha256(aal2Secret)), undefined)
    const session = await careid.context.store.sessions.get(sha256(aal3Secret))
    assert.ok(session)
    assert.deepEqual([session.sid, session.aal, session.amr, Math.floor(session.auth_time / 1000)], [aal2.id.sid, 3, ['FIDO2'], authTime])
    assert.equal(await cookie('careid_method'), 'security_key')

    // 3. The method-specific AAL3_FIDO2 is met by the same sign-in, without a page.
    await page.goto(authorizeUrl(rp, { scope: 'openid', state: 'fido2', acr_values: 'AAL3_FIDO2', prompt: 'none' }))
    const fido2 = await landAndRedeem(tab)
    assert.deepEqual([fido2.id.sid, fido2.id.acr, fido2.id.amr, fido2.id.auth_time, fido2.id.authentication_assurance_level], [aal2.id.sid, 'AAL3_FIDO2', ['FIDO2'], authTime, '3'])

    // 4. The tokens from before the step-up keep the authenticator app's facts.
    const before = (await careid.context.store.grants.get(decodeJwt(aal2.access_token).authGrantId as string))?.sign_in
    assert.deepEqual([before?.acr, before?.amr, before?.aal, Math.floor((before?.auth_time ?? 0) / 1000)], ['AAL2_OR_AAL3_ANY', ['TOTP'], 2, aal2.id.auth_time])

    // 5. The next sign-in (prompt=login) starts with the security key, the method last used, and
    // "Use another way" leads to the choice. The key is left untouched (no automatic presence), so
    // the page waits for it rather than signing in at once.
    await tab.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: securityKey, enabled: false })
    await page.goto(authorizeUrl(rp, { scope: 'openid', state: 'again', acr_values: 'AAL2_OR_AAL3_ANY', prompt: 'login' }))
    assert.match(await heading(page), /Sign in with your security key$/)
    assert.equal(await page.locator('#another-way').textContent(), 'Use another way to sign in')
    await Promise.all([page.waitForEvent('framenavigated'), page.click('#another-way')])
    assert.ok((await methodsOffered(page)).includes('totp'), 'the choice, with the other ways')
    assert.deepEqual(tab.problems, [], 'no CSP violation or script error')
    await tab.close()
  })
})
