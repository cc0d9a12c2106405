/**
 * Chromium's virtual WebAuthn authenticators (DevTools `WebAuthn` domain) and the steps a worker
 * takes with them in Careid: registering a credential with a Registration Authority's enrolment
 * code, and signing in to a relying party with it.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BrowserContext, CDPSession, Page } from 'playwright-core'
import type { AdminServices } from '@careid/admin'
import { authorizeUrl, redeem, type RedeemedTokens, type TestRp } from './rp.ts'
import type { TestCareid } from './careid.ts'

/** A relying party whose redirect URI is a page of its own on localhost, so the browser really lands there. */
export async function landingRp(careid: TestCareid): Promise<TestRp & { close(): Promise<void> }> {
  const server = createServer((_, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('relying party'))
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
  const redirect_uri = `http://localhost:${(server.address() as AddressInfo).port}/callback`
  const registered = await careid.addClient({ redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' })
  return {
    careid,
    client_id: registered.client_id,
    client_secret: registered.client_secret as string,
    redirect_uri,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The authenticators the tests stand for real ones with, as the DevTools protocol describes them. */
export const virtualAuthenticators = {
  /** A roaming FIDO2 key with a PIN or fingerprint (a YubiKey). */
  securityKey: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  /** The computer's own platform authenticator (Windows Hello). */
  platform: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  /** A platform authenticator whose credentials sync (a passkey provider): backup eligible and backed up. */
  syncedPasskey: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true, defaultBackupEligibility: true, defaultBackupState: true },
} as const

export type VirtualAuthenticatorOptions = { [key: string]: string | boolean }

/** A tab with WebAuthn's virtual environment on (no real authenticator is reachable from it). */
export interface WebAuthnTab {
  page: Page
  cdp: CDPSession
  /** Script errors and CSP violations seen in the tab. */
  problems: string[]
  add(options: VirtualAuthenticatorOptions): Promise<string>
  close(): Promise<void>
}

/** A tab with no sign-in yet (the profile's cookies cleared): each scenario starts as a new browser would. */
export async function webAuthnTab(context: BrowserContext): Promise<WebAuthnTab> {
  await context.clearCookies()
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.text().includes('CSP violation')) problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable', { enableUI: false })
  return {
    page,
    cdp,
    problems,
    async add(options) {
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: options as never })
      return authenticatorId
    },
    close: () => page.close(),
  }
}

export async function heading(page: Page): Promise<string> {
  return ((await page.locator('h1').first().textContent()) ?? '').replace(/\s+/g, ' ').trim()
}

/** The error summary's text, if the page shows one. */
export async function problem(page: Page): Promise<string> {
  const summary = page.locator('.nhsuk-error-summary')
  return (await summary.count()) === 0 ? '' : ((await summary.first().textContent()) ?? '').replace(/\s+/g, ' ').trim()
}

/**
 * The Registration Authority issues `username` an enrolment code for `method`; the worker enters it
 * at {issuer}/account/enrol and presses the add button: the page after the ceremony.
 */
export async function enrolWithCode(tab: WebAuthnTab, careid: TestCareid, admin: AdminServices, base: string, username: string, method: string, expectedHeading: string): Promise<Page> {
  const issued = await admin.people.issueEnrolmentCode(username, method, { methods: careid.provider.enrolmentMethods() }, 'cli:test-ra')
  const { page } = tab
  await page.goto(`${base}/account/enrol`)
  await page.fill('input[name="username"]', username)
  await page.fill('input[name="code"]', issued.code)
  await Promise.all([page.waitForURL(/\/account\//), page.locator('form button').first().click()])
  assert.equal(await heading(page), expectedHeading)
  await Promise.all([page.waitForEvent('framenavigated'), page.click('#webauthn-start')])
  await page.waitForLoadState()
  return page
}

/** Starts a sign-in to `rp` asking for `acr`, choosing `method` if Careid offers a choice; resolves once the method's page is shown. */
export async function startSignIn(tab: WebAuthnTab, rp: TestRp, acr: string, method: string, state = 'st'): Promise<void> {
  const { page } = tab
  await page.goto(authorizeUrl(rp, { scope: 'openid', state, nonce: `n-${state}`, acr_values: acr }))
  if ((await page.locator(`input[name="method"][value="${method}"]`).count()) > 0) {
    await page.check(`input[name="method"][value="${method}"]`)
    await Promise.all([page.waitForEvent('framenavigated'), page.locator('form button').first().click()])
  }
}

/** Signs in to `rp` with `method` and redeems the code: the tokens. */
export async function signInWith(tab: WebAuthnTab, rp: TestRp, acr: string, method: string, state = 'st'): Promise<RedeemedTokens> {
  await startSignIn(tab, rp, acr, method, state)
  await tab.page.waitForURL((u) => u.href.startsWith(rp.redirect_uri), { timeout: 30_000 })
  return redeem(rp, tab.page.url())
}
