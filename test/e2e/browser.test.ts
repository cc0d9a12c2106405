/**
 * The README's first journey in a real browser (headless Chromium through playwright-core): open
 * the demo app, keep its default choices, sign in with the authenticator app, pick a role, see the
 * claims, sign out. On every page: no Content-Security-Policy violation, no console error, no
 * failed request, nhsuk-frontend's stylesheet applied, so the CSP and the assets really work
 * together in a browser, and no accessibility problem that axe finds. One form is filled in with the keyboard alone.
 *
 * Screenshots of each step go to /tmp/careid-browser-*.png for a person to look at.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page, Request } from 'playwright-core'
import { assertAccessible } from '../support/axe.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { chromium, requires } from '../support/system_packages.ts'
import { password as demoPassword, someoneWithFewRoles } from '../support/demo_people.ts'

const person = someoneWithFewRoles()
const password = demoPassword(person)
const chosenRole = person.positions[1]?.person_roleid as string
/** nhsuk-frontend's header background: NHS blue #005eb8. */
const nhsBlue = 'rgb(0, 94, 184)'

interface Seen {
  page: string
  kind: string
  text: string
}

describe('a new user in a real browser', requires(chromium), () => {
  let careid: TestCareid
  let context: BrowserContext
  let page: Page
  let userDataDir: string
  const seen: Seen[] = []
  const failedResponses: string[] = []
  let step = 0

  before(async () => {
    careid = await startTestCareid()
    userDataDir = mkdtempSync(join(tmpdir(), 'careid-chromium-'))
    ;({ context, page } = await launchChromium(userDataDir))
    page.on('console', (message) => seen.push({ page: page.url(), kind: `console.${message.type()}`, text: message.text() }))
    page.on('pageerror', (error) => seen.push({ page: page.url(), kind: 'pageerror', text: error.message }))
    page.on('requestfailed', (request) => seen.push({ page: page.url(), kind: 'requestfailed', text: `${request.url()} ${request.failure()?.errorText ?? ''}` }))
    page.on('response', (response) => {
      if (response.status() >= 400) failedResponses.push(`${response.status()} ${response.url()}`)
    })
  })
  after(async () => {
    await context?.close()
    if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true })
    await careid?.close()
  })

  /** What a person would check on every page: styled, and nothing went wrong in the console. */
  async function checkPage(name: string): Promise<void> {
    step++
    await page.screenshot({ path: `/tmp/careid-browser-${String(step).padStart(2, '0')}-${name}.png`, fullPage: true })
    const header = await inPage<string>("getComputedStyle(document.querySelector('header.nhsuk-header')).backgroundColor")
    assert.equal(header, nhsBlue, `${name}: nhsuk-frontend's stylesheet applies (the header is NHS blue)`)
    const font = await inPage<string>('getComputedStyle(document.documentElement).fontFamily')
    assert.match(font, /arial/i, `${name}: Careid's own styles apply`)
    const problems = seen.filter((s) => s.kind !== 'console.log' && s.kind !== 'console.info' && s.kind !== 'console.debug')
    assert.deepEqual(problems, [], `${name}: no CSP violation, error or warning in the console`)
    assert.deepEqual(failedResponses, [], `${name}: every request succeeded`)
    await assertAccessible(page, name)
  }

  /** Evaluates an expression in the page (written as text: the project compiles without DOM types). */
  function inPage<T>(expression: string): Promise<T> {
    return page.evaluate(expression) as Promise<T>
  }

  async function h1(): Promise<string> {
    return ((await page.locator('h1').first().textContent()) ?? '').replace(/\s+/g, ' ').trim()
  }

  it('signs in to the demo app with the authenticator app, picks a role, and signs out', async () => {
    // 1. The demo app, as the README says, with its defaults.
    const home = await page.goto(`${careid.origin}/demo/`)
    assert.equal(home?.status(), 200)
    assert.equal(await h1(), 'Careid demo Demo clinical app')
    assert.equal(await page.isChecked('input[name="acr_values"][value="AAL2_OR_AAL3_ANY"]'), true, 'AAL2 or AAL3 is the default')
    assert.equal(await page.isChecked('input[name="scope"][value="selectedrole"]'), true, 'role selection is asked for by default')
    const css = await inPage<string[]>('[...document.styleSheets].map((s) => s.href)')
    assert.deepEqual(css, [`${careid.origin}/assets/careid.css`])
    await checkPage('demo-home')

    // 2. Sign in: the demo app sends the browser to Careid.
    // AAL2_OR_AAL3_ANY is met by the authenticator app and by a smartcard: Careid asks which.
    await Promise.all([page.waitForURL(/\/interaction\/[^/]+$/), page.getByRole('button', { name: 'Sign in' }).click()])
    assert.equal(await h1(), 'Sign in to Demo clinical app How do you want to sign in?')
    await checkPage('choose')
    await page.getByLabel('Authenticator app').check()
    await Promise.all([page.waitForURL(/\/method$/), page.getByRole('button', { name: 'Continue' }).click()])
    assert.equal(await h1(), 'Sign in to Demo clinical app Enter your username and password')
    assert.ok((await page.locator('main').textContent())?.includes('You are signing in with: Authenticator app'))
    await checkPage('password')

    // 3. The password form with the keyboard alone: Tab to each field, type, Tab to Continue, Enter.
    let focused = ''
    for (let tabs = 0; tabs < 20 && focused !== 'username'; tabs++) {
      await page.keyboard.press('Tab')
      focused = await inPage<string>("document.activeElement?.id ?? ''")
    }
    assert.equal(focused, 'username', 'the username field is reachable with Tab')
    await page.keyboard.type(person.username)
    await page.keyboard.press('Tab')
    assert.equal(await inPage<string>('document.activeElement?.id'), 'password', 'Tab moves from username to password')
    await page.keyboard.type(password)
    await page.keyboard.press('Tab')
    assert.equal(await inPage<string>('document.activeElement?.textContent?.trim()'), 'Continue', 'then to the Continue button')
    await Promise.all([page.waitForURL(/\/authenticate$/), page.keyboard.press('Enter')])

    // 4. The code from the authenticator app.
    assert.equal(await h1(), 'Sign in to Demo clinical app Enter the code from your authenticator app')
    await checkPage('totp')
    await page.getByLabel('Enter the code from your authenticator app').fill(await careid.totp(person.uid))
    await Promise.all([page.waitForURL(/\/authenticate$/), page.getByRole('button', { name: 'Continue' }).click()])

    // 5. The role picker.
    assert.equal(await h1(), `${person.display_name} Choose your role`)
    assert.equal(await page.locator('input[name="role"]').count(), person.positions.length)
    await checkPage('select-role')
    await page.check(`input[name="role"][value="${chosenRole}"]`)
    await Promise.all([page.waitForURL(`${careid.origin}/demo/signed-in`), page.getByRole('button', { name: 'Continue' }).click()])

    // 6. Back in the demo app, signed in, with what Careid said.
    assert.equal(await h1(), 'Demo clinical app You are signed in')
    assert.equal(await page.locator('main p').first().textContent(), `Careid signed you in as ${person.given_name} ${person.family_name}.`)
    const summary = Object.fromEntries(
      await page.locator('.nhsuk-summary-list__row').evaluateAll((rows) =>
        rows.map((r) => [r.querySelector('.nhsuk-summary-list__key')?.textContent?.trim(), r.querySelector('.nhsuk-summary-list__value')?.textContent?.trim()]),
      ),
    ) as Record<string, string>
    assert.equal(summary.sub, person.uid)
    assert.equal(summary.acr, 'AAL2_OR_AAL3_ANY')
    assert.equal(summary.amr, 'TOTP')
    assert.equal(summary.selected_roleid, chosenRole)
    assert.equal(summary.authentication_assurance_level, '2')
    await checkPage('signed-in')

    // 7. Sign out: Careid ends the session and sends the browser back to the demo app.
    await Promise.all([page.waitForURL(`${careid.origin}/demo/`), page.getByRole('link', { name: 'Sign out' }).click()])
    assert.ok((await page.locator('main').textContent())?.includes('You signed out.'), 'the demo app says you signed out')
    assert.ok(await page.getByRole('button', { name: 'Sign in' }).isVisible())
    await checkPage('signed-out')

    // 8. The Careid session is gone: prompt=none answers login_required, by redirect to the client.
    const authorize = new URL(careid.provider.endpoints.authorization)
    authorize.search = new URLSearchParams({
      client_id: careid.demo.client_id,
      redirect_uri: `${careid.origin}/demo/callback`,
      response_type: 'code',
      scope: 'openid',
      acr_values: 'AAL2_OR_AAL3_ANY',
      prompt: 'none',
      state: 'after-sign-out',
    }).toString()
    const landed = await page.goto(authorize.href)
    const chain: Request[] = []
    for (let r = landed?.request() ?? null; r !== null; r = r.redirectedFrom()) chain.unshift(r)
    const first = chain[0]
    assert.ok(first)
    assert.equal(first.url(), authorize.href)
    const answer = await first.response()
    assert.equal(answer?.status(), 302, 'redirected, not shown as a page')
    const location = new URL((await answer?.headerValue('location')) ?? '')
    assert.equal(`${location.origin}${location.pathname}`, `${careid.origin}/demo/callback`)
    assert.equal(location.searchParams.get('error'), 'login_required')
    assert.equal(location.searchParams.get('state'), 'after-sign-out')
    assert.equal(location.searchParams.get('iss'), careid.issuer)
    assert.ok((await page.locator('main').textContent())?.includes('Careid answered: login_required'), 'and the demo app shows it')
    await checkPage('prompt-none')
  })
})
