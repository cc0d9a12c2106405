/**
 * "Your sign-in methods" in a real browser (headless Chromium), as a worker meets it: signing in to
 * the account area, adding an authenticator app by reading the key off the page and typing the code
 * it gives, removing a method; and a new starter setting up the app with their Registration
 * Authority's enrolment code. Every page on the way passes axe (WCAG 2.2 AA and best practice), and
 * none needs a script.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { currentTotpCode } from '@careid/authenticators'
import { adminServices } from '../../packages/cli/src/commands/admin.ts'
import { assertAccessible } from '../support/axe.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { password, person } from '../support/demo_people.ts'
import { baseUrl } from '../support/rp.ts'
import { chromium, requires } from '../support/system_packages.ts'

describe('the account area in a browser', { ...requires(chromium), concurrency: 1 }, () => {
  let careid: TestCareid
  let context: BrowserContext
  let page: Page
  let userDataDir: string
  let base: string

  before(async () => {
    careid = await startTestCareid()
    base = baseUrl(careid)
    userDataDir = mkdtempSync(join(tmpdir(), 'careid-chromium-'))
    ;({ context, page } = await launchChromium(userDataDir))
  })
  after(async () => {
    await context?.close()
    if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true })
    await careid?.close()
  })

  async function h1(): Promise<string> {
    return ((await page.locator('h1').first().textContent()) ?? '').replace(/\s+/g, ' ').trim()
  }

  async function click(button: string, url: RegExp | string): Promise<void> {
    await Promise.all([page.waitForURL(url), page.getByRole('button', { name: button, exact: true }).click()])
  }

  /** The key the setup page shows when the QR code cannot be scanned. */
  async function typedKey(): Promise<string> {
    await page.getByText('I cannot scan the QR code').click()
    return ((await page.locator('#secret').textContent()) ?? '').replaceAll(' ', '')
  }

  it('a worker signs in to it, adds an authenticator app, and removes a method', async () => {
    const worker = person('dr.patel')
    await page.goto(`${base}/account`)
    await page.getByLabel('Authenticator app').check()
    await click('Continue', /\/method$/)
    await page.getByLabel('Username').fill(worker.username)
    await page.getByLabel('Password').fill(password(worker))
    await click('Continue', /\/authenticate$/)
    await page.getByLabel('Enter the code from your authenticator app').fill(await careid.totp(worker.uid))
    await click('Continue', `${base}/account`)
    assert.equal(await h1(), `${worker.display_name} (${worker.username}) Your sign-in methods`)
    await assertAccessible(page, 'account')

    await click('Add Authenticator app', /\/account\/add\/enrol-/)
    assert.equal(await h1(), 'Add a sign-in method Set up your authenticator app')
    assert.equal(await page.locator('img.careid-qr').evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth > 0), true, 'the QR code shows')
    await assertAccessible(page, 'authenticator app setup')
    const key = await typedKey()
    await page.getByLabel('Code from your authenticator app').fill('000000' === currentTotpCode(key, Date.now()) ? '111111' : '000000')
    await click('Add authenticator app', /\/account\/add\/enrol-/)
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 1)
    await assertAccessible(page, 'authenticator app setup, wrong code')
    await page.getByLabel('Code from your authenticator app').fill(currentTotpCode(key, Date.now()))
    await click('Add authenticator app', `${base}/account?added=totp`)
    assert.ok((await page.locator('[role="status"]').textContent())?.includes('Authenticator app added'))
    const app = (await careid.context.store.credentials.listByPerson(worker.uid)).find((c) => c.kind === 'totp')
    assert.equal(careid.context.secrets.open(app?.secret as string), key)

    await click('Remove Authenticator app', `${base}/account?removed=totp`)
    assert.ok((await page.locator('[role="status"]').textContent())?.includes('Authenticator app removed'))
    assert.equal(await page.getByRole('button', { name: /^Remove/ }).count(), 0, 'the password is the last method')
    await assertAccessible(page, 'account, last method')
  })

  it('a new starter sets up the app with an enrolment code, and signs in with it', async () => {
    const worker = person('new.starter')
    for (const c of await careid.context.store.credentials.listByPerson(worker.uid)) if (c.kind === 'totp') await careid.context.store.credentials.remove(c.id)
    const issued = await adminServices(careid.context).people.issueEnrolmentCode(worker.username, 'totp', { methods: careid.provider.enrolmentMethods() }, 'cli:test-ra')
    await context.clearCookies()
    await page.goto(`${base}/account/enrol`)
    assert.equal(await h1(), 'Set up a sign-in method with an enrolment code')
    await assertAccessible(page, 'enrolment code')
    await page.getByLabel('Username').fill(worker.username)
    await page.getByLabel('Enrolment code').fill('AAAA-BBBB-CCCC-DDDD-EEEE')
    await click('Continue', /\/account\/enrol$/)
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 1)
    await assertAccessible(page, 'enrolment code, refused')
    await page.getByLabel('Enrolment code').fill(issued.code)
    await click('Continue', /\/account\/add\/enrol-/)
    const key = await typedKey()
    await page.getByLabel('Code from your authenticator app').fill(currentTotpCode(key, Date.now()))
    await click('Add authenticator app', /\/account\/add\/enrol-/)
    assert.equal(await h1(), 'Authenticator app set up')
    await assertAccessible(page, 'enrolment done')

    // Signing in with it, through the demo app.
    await page.goto(`${careid.origin}/demo/`)
    await click('Sign in', /\/interaction\/[^/]+$/)
    await page.getByLabel('Authenticator app').check()
    await click('Continue', /\/method$/)
    await page.getByLabel('Username').fill(worker.username)
    await page.getByLabel('Password').fill(password(worker))
    await click('Continue', /\/authenticate$/)
    await page.getByLabel('Enter the code from your authenticator app').fill(currentTotpCode(key, Date.now() + 30_000))
    await click('Continue', /\/demo\/signed-in$/)
    const claims = JSON.parse((await page.locator('#id-token-claims, pre').first().textContent()) ?? '{}') as Record<string, unknown>
    assert.equal(claims.acr, 'AAL2_OR_AAL3_ANY')
    assert.deepEqual(claims.amr, ['TOTP'])
  })
})
