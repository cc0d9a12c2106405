/**
 * The mobile app (CIS2's iPad app, AAL3_IOS) end to end, in two real browsers (headless Chromium):
 * a desktop signing in to an application, and the worker's tablet or phone running the app at
 * `{issuer}/mobile/`, with a virtual platform authenticator (`internal`, user verification) as its
 * fingerprint. The Registration Authority registers the device with `careid devices register`
 * (the device opens the link and shows a code) and `careid devices confirm`; the worker then
 * approves sign-ins on it by entering the number the desktop shows. A wrong number, a request left
 * to expire (the provider's clock moved on) and a revoked device are refused with their own pages;
 * revoking the device ends the sign-in it made, with a back-channel logout to the application.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import type { BrowserContext, Page } from 'playwright-core'
import { demoWorkforce } from '@careid/domain'
import { confirmDevice, listDevices, registerDevice, revokeDevice } from '../../packages/cli/src/commands/devices.ts'
import { assertAccessible } from '../support/axe.ts'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { authorizeUrl, fetchJwks, redeem, type TestRp } from '../support/rp.ts'
import { chromium, requires } from '../support/system_packages.ts'

const person = demoWorkforce.find((p) => p.username === 'dr.patel')
assert.ok(person)

describe('the mobile app in real browsers: registration, approval, number mismatch, expiry, revocation', requires(chromium), () => {
  let careid: TestCareid
  let receiver: Receiver
  let rp: TestRp
  let work: string
  let desktop: { context: BrowserContext; page: Page }
  let device: { context: BrowserContext; page: Page }
  let deviceId: string
  let offset = 0
  const problems: string[] = []

  function watch(page: Page, who: string) {
    page.on('console', (message) => {
      // A device call the server refused is logged by the browser as a failed load; the app shows it.
      if ((message.type() === 'error' || message.type() === 'warning') && !message.text().startsWith('Failed to load resource')) problems.push(`${who} ${page.url()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => problems.push(`${who} ${page.url()}: ${error.message}`))
  }

  /** The desktop starts a sign-in to the application asking for the iPad app, up to the number to match. */
  async function startSignIn(state: string): Promise<string> {
    const page = desktop.page
    await page.goto(authorizeUrl(rp, { scope: 'openid profile', state, nonce: `n-${state}`, acr_values: 'AAL3_IOS', login_hint: person?.username, prompt: 'login' }))
    assert.equal(await page.locator('#username').inputValue(), person?.username, 'the username is prefilled from login_hint')
    if (state === 'ok') await assertAccessible(page, 'the mobile app username page')
    await page.getByRole('button', { name: 'Send request' }).click()
    await page.locator('#mobile-number').waitFor()
    return (await page.locator('#mobile-number').innerText()).trim()
  }

  /** The request as the device shows it, once it appears there. */
  async function requestOnDevice() {
    const card = device.page.locator('.app-request')
    await card.waitFor({ timeout: 15_000 })
    return card
  }

  /** Moves the device's clock as the provider's was moved. */
  async function shiftDeviceClock(ms: number): Promise<void> {
    await device.page.evaluate((by) => {
      const w = globalThis as unknown as { realNow?: () => number }
      const real = (w.realNow ??= Date.now.bind(Date))
      Date.now = () => real() + by
    }, ms)
  }

  before(async () => {
    careid = await startTestCareid({ now: () => Date.now() + offset })
    receiver = await startReceiver()
    const redirect_uri = new URL('/callback', receiver.url).href
    const registered = await careid.addClient({ client_name: 'Patient Records', redirect_uris: [redirect_uri], backchannel_logout_uri: receiver.url, token_endpoint_auth_method: 'client_secret_post' })
    rp = { careid, client_id: registered.client_id, client_secret: registered.client_secret as string, redirect_uri }
    work = mkdtempSync(join(tmpdir(), 'careid-mobile-'))
    desktop = await launchChromium(mkdtempSync(join(work, 'desktop-')))
    device = await launchChromium(mkdtempSync(join(work, 'device-')))
    watch(desktop.page, 'desktop')
    watch(device.page, 'device')
    // The device's fingerprint reader: a platform authenticator that verifies its user.
    const cdp = await device.context.newCDPSession(device.page)
    await cdp.send('WebAuthn.enable')
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    })
  })
  after(async () => {
    await desktop?.context.close()
    await device?.context.close()
    await receiver?.close()
    await careid?.close()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  it('registers the device with the RA: a one-time link, then the code the device shows', async () => {
    const printed: string[] = []
    await registerDevice(careid.context, person.username, (line) => printed.push(line))
    const link = printed.map((l) => l.trim()).find((l) => l.startsWith(`${careid.issuer}/mobile/#register=`))
    assert.ok(link, printed.join('\n'))
    assert.ok(printed.some((l) => /[▀▄█]/.test(l)), 'a QR code is printed for the device to scan')

    await device.page.goto(link)
    await device.page.locator('#screen-register').waitFor()
    assert.equal(new URL(device.page.url()).hash, '', 'the one-time link leaves the address bar')
    assert.equal(await device.page.locator('#register-worker').innerText(), person.display_name)
    await assertAccessible(device.page, 'the app: register this device')
    await device.page.locator('#register-name').fill('Ward 7 iPad')
    await device.page.getByRole('button', { name: 'Register this device' }).click()
    await device.page.locator('#screen-confirm').waitFor()
    const code = (await device.page.locator('#confirm-code').innerText()).trim()
    assert.match(code, /^[0-9]{6}$/)
    await assertAccessible(device.page, 'the app: the confirmation code')

    // The link was used: opening it again on another device is refused.
    const again = await desktop.context.newPage()
    await again.goto(link)
    await again.locator('#problem-text').waitFor()
    assert.match(await again.locator('#problem-text').innerText(), /not valid: it was used already/)
    await again.close()

    const confirmed: string[] = []
    await assert.rejects(confirmDevice(careid.context, person.username, code === '000000' ? '000001' : '000000', () => undefined), /not the code the device shows/)
    await confirmDevice(careid.context, person.username, code, (line) => confirmed.push(line))
    assert.match(confirmed.join('\n'), /is active: it can approve sign-ins now/)
    await device.page.locator('#screen-ready').waitFor({ timeout: 15_000 })
    assert.equal(await device.page.locator('#ready-worker').innerText(), person.display_name)

    const listed: string[] = []
    await listDevices(careid.context, person.uid, (line) => listed.push(line))
    assert.equal(listed.length, 1)
    assert.match(listed[0] as string, / active .* Ward 7 iPad +registered by cli:[^,]+, confirmed by cli:/)
    deviceId = (listed[0] as string).split(' ')[0] as string
    const types = (await careid.context.store.audit.recent(10)).map((e) => e.type)
    assert.ok(types.includes('device.registration_started') && types.includes('device.confirmed') && types.includes('device.confirmation_failed'), types.join(', '))
  })

  it('signs in with the number entered on the device and its fingerprint: acr AAL3_IOS, amr IOS, level 3', async () => {
    const number = await startSignIn('ok')
    assert.match(number, /^[1-9][0-9]$/)
    const card = await requestOnDevice()
    assert.match(await card.innerText(), /Sign in to Patient Records/)
    await assertAccessible(device.page, 'the app: a sign-in request')
    await assertAccessible(desktop.page, 'the mobile app waiting page')
    await card.locator('input[data-field="number"]').fill(number)
    await card.getByRole('button', { name: 'Approve' }).click()
    await device.page.locator('#ready-outcome-text').getByText('Approved.').waitFor()
    await desktop.page.waitForURL((u) => u.href.startsWith(rp.redirect_uri), { timeout: 15_000 })
    const tokens = await redeem(rp, desktop.page.url())
    assert.equal(tokens.id.acr, 'AAL3_IOS')
    assert.deepEqual(tokens.id.amr, ['IOS'])
    assert.equal(tokens.id.authentication_assurance_level, '3')
    assert.equal(tokens.id.sub, person.uid)
    const session = await careid.context.store.sessions.getBySid(tokens.id.sid as string)
    assert.equal(session?.binding, `mobile:${deviceId}`, 'the sign-in is bound to the device')
    assert.deepEqual(problems, [], 'no CSP violation or script error')
  })

  it('stops the sign-in when the number entered on the device is wrong', async () => {
    const number = await startSignIn('mismatch')
    const card = await requestOnDevice()
    await card.locator('input[data-field="number"]').fill(number === '99' ? '98' : String(Number(number) + 1))
    await card.getByRole('button', { name: 'Approve' }).click()
    await device.page.locator('#ready-outcome-text').getByText('The number did not match').waitFor()
    // The desktop page goes on by itself and says why.
    await desktop.page.getByText('did not match the number on this page').first().waitFor({ timeout: 15_000 })
    assert.ok(desktop.page.url().startsWith(careid.issuer), 'no redirect to the application')
    assert.equal(await desktop.page.locator('#username').inputValue(), person.username)
  })

  it('refuses a request not approved within 2 minutes', async () => {
    await startSignIn('expired')
    const card = await requestOnDevice()
    // Two minutes on, for the provider and for the device (whose calls carry its own clock).
    offset = 2 * 60_000 + 1_000
    await shiftDeviceClock(offset)
    await desktop.page.getByText('was not approved in time').first().waitFor({ timeout: 15_000 })
    assert.ok(desktop.page.url().startsWith(careid.issuer), 'no redirect to the application')
    // The device no longer offers it.
    await card.waitFor({ state: 'detached', timeout: 15_000 })
  })

  it('refuses once the device is revoked, and ends the sign-in it made with a back-channel logout', async () => {
    const signedIn = [...(await careid.context.store.sessions.listBySub(person.uid))].filter((s) => s.binding === `mobile:${deviceId}`)
    assert.equal(signedIn.length, 1)
    const sid = signedIn[0]?.sid
    await startSignIn('revoked')
    await requestOnDevice()
    const printed: string[] = []
    await revokeDevice(careid.context, deviceId, (line) => printed.push(line))
    assert.match(printed.join('\n'), /is revoked; 1 sign-in\(s\) it approved ended/)
    // The waiting request is declined; the desktop page says so.
    await desktop.page.getByText('can no longer be used').first().waitFor({ timeout: 15_000 })
    // The device learns it at its next call.
    await device.page.locator('#screen-revoked').waitFor({ timeout: 15_000 })
    const [logoutToken] = await receiver.waitFor(1, 15_000)
    assert.ok(logoutToken)
    const { payload } = await jwtVerify(logoutToken, createLocalJWKSet((await fetchJwks(careid)) as unknown as JSONWebKeySet), { issuer: careid.issuer, audience: rp.client_id, typ: 'logout+jwt' })
    assert.equal(payload.sid, sid)
    assert.equal(payload.sub, person.uid)
    assert.equal(await careid.context.store.sessions.getBySid(sid as string), undefined)
    assert.ok((await careid.context.store.audit.recent(10)).some((e) => e.type === 'device.revoked'))
  })

  it('counts each outcome of the sign-ins above', async () => {
    const counted = (await careid.metrics())
      .split('\n')
      .filter((line) => line.startsWith('careid_sign_ins_total{method="mobile"'))
      .sort()
    assert.deepEqual(counted, [
      'careid_sign_ins_total{method="mobile",result="number_mismatch"} 1',
      'careid_sign_ins_total{method="mobile",result="request_declined"} 1',
      'careid_sign_ins_total{method="mobile",result="request_expired"} 1',
      'careid_sign_ins_total{method="mobile",result="success"} 1',
    ])
  })
})
