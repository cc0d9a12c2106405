/**
 * Every page Careid renders, checked with axe-core in a real browser (headless Chromium) against
 * WCAG 2.2 AA and axe's best practices: the demo app's home (also with a notice or a problem) and
 * signed-in pages, the choice of sign-in method, the password, authenticator-app and smartcard pages
 * (the first two also with an error), role selection (a short list, and a long one with its search),
 * the sign-out confirmation and signed-out pages, an error page, the not-found page and the
 * too-many-attempts page. Each is checked as a person would meet it. A new page gets one `assertAccessible(page, name)` here once it is open.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { assertAccessible } from '../support/axe.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { chromium, requires } from '../support/system_packages.ts'
import { someoneWithFewRoles } from '../support/demo_people.ts'
import { windowWithRoom } from '../support/rate_windows.ts'

/** Someone with a few roles (a plain list) and someone with many (the list has a search). */
const fewRoles = someoneWithFewRoles()
const manyRoles = demoWorkforce.find((p) => p.positions.length > 5)
assert.ok(manyRoles, 'the demo workforce has someone with more than 5 roles')
const passwordOf = (uid: string) => demoCredentials[uid]?.password as string
/** Password posts a username may make per minute here: low, so that the too-many-attempts page is reached quickly. */
const signInRateLimit = 3

describe('every page Careid renders passes axe (WCAG 2.2 AA and best practice)', requires(chromium), () => {
  let careid: TestCareid
  let context: BrowserContext
  let page: Page
  let userDataDir: string

  before(async () => {
    careid = await startTestCareid({ settings: { signInRateLimit: String(signInRateLimit) } })
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

  async function submit(button: string, url: RegExp | string): Promise<void> {
    await Promise.all([page.waitForURL(url), page.getByRole('button', { name: button }).click()])
  }

  it('the demo app, the method choice, password, authenticator-app code, smartcard and short role list pages, signed in and signed out', async () => {
    await page.goto(`${careid.origin}/demo/`)
    assert.equal(await h1(), 'Careid demo Demo clinical app')
    await assertAccessible(page, 'demo home')

    await submit('Sign in', /\/interaction\/[^/]+$/)
    assert.equal(await h1(), 'Sign in to Demo clinical app How do you want to sign in?')
    await assertAccessible(page, 'method choice')

    // The smartcard page as it is when no Identity Agent answers: its warning shown.
    await page.getByLabel('Smartcard').check()
    await submit('Continue', /\/method$/)
    await page.getByText('The Identity Agent is not running').waitFor({ state: 'visible', timeout: 15_000 })
    assert.equal(await h1(), 'Sign in to Demo clinical app Sign in with your smartcard')
    await assertAccessible(page, 'smartcard, no agent')
    await Promise.all([page.waitForURL(/\/back$/), page.getByRole('link', { name: 'Choose another way to sign in' }).click()])

    await page.getByLabel('Authenticator app').check()
    await submit('Continue', /\/method$/)
    assert.equal(await h1(), 'Sign in to Demo clinical app Enter your username and password')
    await assertAccessible(page, 'password')
    await page.getByLabel('Username').fill(fewRoles.username)
    await page.getByLabel('Password').fill(`${passwordOf(fewRoles.uid)}-wrong`)
    await submit('Continue', /\/authenticate$/)
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 1)
    await assertAccessible(page, 'password, wrong')
    await page.getByLabel('Username').fill(fewRoles.username)
    await page.getByLabel('Password').fill(passwordOf(fewRoles.uid))
    await submit('Continue', /\/authenticate$/)

    assert.equal(await h1(), 'Sign in to Demo clinical app Enter the code from your authenticator app')
    await assertAccessible(page, 'authenticator-app code')
    await page.getByLabel('Enter the code from your authenticator app').fill('12345')
    await submit('Continue', /\/authenticate$/)
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 1)
    await assertAccessible(page, 'authenticator-app code, wrong')
    await page.getByLabel('Enter the code from your authenticator app').fill(await careid.totp(fewRoles.uid))
    await submit('Continue', /\/authenticate$/)

    assert.equal(await h1(), `${fewRoles.display_name} Choose your role`)
    assert.equal(await page.locator('input[type="search"]').count(), 0, 'a short list has no search')
    await assertAccessible(page, 'role selection')
    await submit('Continue', /\/role$/)
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 1)
    await assertAccessible(page, 'role selection, none chosen')
    await page.check(`input[name="role"][value="${fewRoles.positions[0]?.person_roleid}"]`)
    await submit('Continue', `${careid.origin}/demo/signed-in`)

    assert.equal(await h1(), 'Demo clinical app You are signed in')
    await assertAccessible(page, 'demo signed in')

    // An application asking to end the session without an id_token_hint: the worker confirms first.
    await page.goto(careid.provider.endpoints.endSession)
    assert.equal(await h1(), 'Do you want to sign out?')
    await assertAccessible(page, 'sign-out confirmation')

    // Careid's own signed-out page: the end-session request the demo app makes, without the way back.
    const logout = await context.request.get(`${careid.origin}/demo/logout`, { maxRedirects: 0 })
    const endSession = new URL(logout.headers().location ?? '')
    assert.ok(endSession.searchParams.has('id_token_hint'), endSession.href)
    endSession.searchParams.delete('post_logout_redirect_uri')
    await page.goto(endSession.href)
    assert.equal(await h1(), 'You have signed out')
    await assertAccessible(page, 'signed out')

    await page.goto(`${careid.origin}/demo/`)
    assert.ok((await page.locator('main').textContent())?.includes('You signed out.'))
    await assertAccessible(page, 'demo home, signed out')

    // Signing in again on this browser: the authenticator app, the method last used, starts at once, with another way offered.
    await submit('Sign in', /\/interaction\/[^/]+$/)
    assert.equal(await h1(), 'Sign in to Demo clinical app Enter your username and password')
    assert.equal(await page.getByRole('link', { name: 'Use another way to sign in' }).count(), 1)
    await assertAccessible(page, 'password, the method last used')

    // The demo app's home with a problem to show: a sign-in that came back with an error.
    await page.goto(`${careid.origin}/demo/callback?error=access_denied`)
    assert.ok((await page.locator('main').textContent())?.includes('Careid answered: access_denied'))
    await assertAccessible(page, 'demo home, sign-in did not finish')
  })

  it('the long role list with its search, a search that finds some roles and one that finds none', async () => {
    await page.goto(`${careid.origin}/demo/login?acr_values=AAL1_USERPASS&scope=selectedrole&prompt=login`)
    assert.equal(await h1(), 'Sign in to Demo clinical app Enter your username and password')
    await page.getByLabel('Username').fill(manyRoles.username)
    await page.getByLabel('Password').fill(passwordOf(manyRoles.uid))
    await submit('Continue', /\/authenticate$/)
    assert.equal(await h1(), `${manyRoles.display_name} Choose your role`)
    assert.equal(await page.locator('input[type="search"]').count(), 1, 'a long list has a search')
    await assertAccessible(page, 'role selection with search')

    const org = manyRoles.positions[0]?.org_code as string
    await page.locator('input[type="search"]').fill(org)
    await submit('Search roles', /\/role\?query=/)
    assert.ok((await page.locator('input[name="role"]').count()) < manyRoles.positions.length, 'the search narrowed the list')
    await assertAccessible(page, 'role selection, search results')

    await page.locator('input[type="search"]').fill('no-such-role')
    await submit('Search roles', /\/role\?query=/)
    assert.equal(await page.locator('input[name="role"]').count(), 0)
    await assertAccessible(page, 'role selection, nothing found')
  })

  it('an error page and the too-many-attempts page', async () => {
    const authorize = new URL(careid.provider.endpoints.authorization)
    authorize.search = new URLSearchParams({ client_id: '999999999999.apps.national', redirect_uri: 'https://rp.example.test/cb', response_type: 'code', scope: 'openid' }).toString()
    const refused = await page.goto(authorize.href)
    assert.equal(refused?.status(), 400)
    assert.equal(await h1(), 'The application you came from is not registered with Careid')
    await assertAccessible(page, 'error page')

    const missing = await page.goto(`${careid.origin}/no-such-page`)
    assert.equal(missing?.status(), 404)
    assert.equal(await h1(), 'Page not found')
    await assertAccessible(page, 'not found')

    await page.goto(`${careid.origin}/demo/login?acr_values=AAL1_USERPASS&prompt=login`)
    // The posts must all count in one minute-long window of the sign-in rate limit.
    await windowWithRoom(60_000, 15_000)
    let status = 0
    for (let attempt = 0; attempt <= signInRateLimit && status !== 429; attempt++) {
      await page.getByLabel('Username').fill('someone.else')
      await page.getByLabel('Password').fill('not-the-password')
      const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Continue' }).click()])
      status = response.status()
      await page.waitForLoadState()
    }
    assert.equal(status, 429)
    assert.equal(await h1(), 'There have been too many attempts to sign in')
    await assertAccessible(page, 'too many attempts')
  })
})
