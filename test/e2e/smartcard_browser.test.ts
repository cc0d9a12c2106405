/**
 * Smartcard sign-in end to end, as a worker would do it, with a virtual card and with a card on a
 * PKCS#11 token (SoftHSM2, as OpenSC would present a real card): the card is issued and put in the
 * reader, the Identity Agent runs (`careid agent start`), the worker types the passcode and chooses
 * a role at the agent, then opens an application in a real browser (headless Chromium) and goes
 * through the CIS2 journey without being asked for anything: the ID token says N3_SMARTCARD with
 * the role chosen at the agent. Removing the card (`careid agent eject`; the token deleted) ends
 * the sign-in: the application's back-channel logout endpoint receives a valid logout token and a
 * prompt=none request gets login_required.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import type { BrowserContext, Page } from 'playwright-core'
import { issuePkcs11Card, issueVirtualCard, openCardAuthority, writeCardFile, type CardAuthority } from '@careid/cards'
import { demoWorkforce } from '@careid/domain'
import type { AeadSecretBox } from '@careid/ports'
import { startAgentProcess, type AgentProcess } from '../support/agent.ts'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { freePort, startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { runCareid } from '../support/cli.ts'
import { authorizeUrl, fetchJwks, redeem, type TestRp } from '../support/rp.ts'
import { chromium, requires, softhsm2, type SystemPackage } from '../support/system_packages.ts'

const run = promisify(execFile)

interface CardKind {
  name: string
  username: string
  /** What the suite needs installed besides npm's packages. */
  packages: SystemPackage[]
  /** Issues the card and puts it in the reader; returns the agent's reader flags and environment. */
  insert(authority: CardAuthority, uid: string, passcode: string, work: string): Promise<{ args: string[]; env: Record<string, string> }>
  /** Takes the card out of the reader. */
  remove(work: string): Promise<void>
}

const virtualCard: CardKind = {
  name: 'a virtual card',
  username: 'dr.patel',
  packages: [chromium],
  async insert(authority, uid, passcode, work) {
    const { file } = await issueVirtualCard({ authority, uid, passcode, now: Date.now() })
    await writeCardFile(join(work, 'card.json'), file)
    const inserted = await runCareid(['agent', 'insert', join(work, 'card.json'), '--agent-dir', join(work, 'agent')])
    assert.equal(inserted.code, 0, inserted.stderr)
    return { args: ['--agent-dir', join(work, 'agent')], env: {} }
  },
  async remove(work) {
    const ejected = await runCareid(['agent', 'eject', '--agent-dir', join(work, 'agent')])
    assert.equal(ejected.code, 0, ejected.stderr)
  },
}

/** A private SoftHSM2 token store per run (SOFTHSM2_CONF), so no one else's tokens are seen or touched. */
const pkcs11Card: CardKind = {
  name: 'a PKCS#11 token (SoftHSM2)',
  username: 'ra.whitfield',
  packages: [chromium, softhsm2],
  async insert(authority, uid, passcode, work) {
    mkdirSync(join(work, 'tokens'))
    const conf = join(work, 'softhsm2.conf')
    writeFileSync(conf, `directories.tokendir = ${join(work, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`)
    process.env.SOFTHSM2_CONF = conf
    await run('softhsm2-util', ['--init-token', '--free', '--label', 'careid-card', '--pin', passcode, '--so-pin', '97531864'], { env: { ...process.env, SOFTHSM2_CONF: conf } })
    await issuePkcs11Card({ authority, uid, module: softhsm2.path, tokenLabel: 'careid-card', pin: passcode, now: Date.now() })
    return { args: ['--pkcs11-module', softhsm2.path, '--token-label', 'careid-card', '--agent-dir', join(work, 'agent')], env: { SOFTHSM2_CONF: conf } }
  },
  async remove(work) {
    await run('softhsm2-util', ['--delete-token', '--token', 'careid-card'], { env: { ...process.env, SOFTHSM2_CONF: join(work, 'softhsm2.conf') } })
  },
}

for (const kind of [virtualCard, pkcs11Card]) {
  describe(`smartcard sign-in through the Identity Agent in a real browser, with ${kind.name}`, requires(...kind.packages), () => {
    const person = demoWorkforce.find((p) => p.username === kind.username)
    assert.ok(person && person.positions.length === 3, `${kind.username} holds three roles`)
    const chosen = person.positions[1]?.person_roleid as string
    const passcode = '482915'
    let careid: TestCareid
    let receiver: Receiver
    let rp: TestRp
    let agent: AgentProcess
    let work: string
    let context: BrowserContext
    let page: Page
    const problems: string[] = []

    before(async () => {
      const agentPort = await freePort()
      careid = await startTestCareid({ config: { agentOrigin: `http://127.0.0.1:${agentPort}` } })
      receiver = await startReceiver()
      // The relying party's redirect URI is on the receiver's own server (it answers any GET), so the browser really lands there.
      const redirect_uri = new URL('/callback', receiver.url).href
      const registered = await careid.addClient({ redirect_uris: [redirect_uri], backchannel_logout_uri: receiver.url, token_endpoint_auth_method: 'client_secret_post' })
      rp = { careid, client_id: registered.client_id, client_secret: registered.client_secret as string, redirect_uri }
      work = mkdtempSync(join(tmpdir(), 'careid-smartcard-'))

      // The Registration Authority issues the card; the worker puts it in the reader and starts the agent.
      const store = careid.context.store
      const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: careid.context.secrets as AeadSecretBox })
      const reader = await kind.insert(authority, person.uid, passcode, work)
      agent = startAgentProcess(['--provider', careid.issuer, '--port', String(agentPort), ...reader.args], reader.env)

      ;({ context, page } = await launchChromium(mkdtempSync(join(work, 'chromium-'))))
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(`${page.url()}: ${message.text()}`)
      })
      page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`))
    })
    after(async () => {
      await context?.close()
      await agent?.stop()
      await receiver?.close()
      await careid?.close()
      if (work !== undefined) rmSync(work, { recursive: true, force: true })
    })

    it('signs in once at the agent, then in the browser without a passcode; removing the card logs the application out', async () => {

      // 1. At the agent: the card is seen, a wrong passcode is refused with the attempts left, the right one signs in.
      await agent.waitFor('Card inserted: ' + person.uid)
      await agent.waitFor('Passcode for the card of ' + person.uid)
      agent.type('000000')
      await agent.waitFor('Wrong passcode.')
      await agent.waitFor('Passcode for the card of ' + person.uid, 2)
      agent.type(passcode)
      await agent.waitFor('Role [1-3]')
      const listed = agent.stdout().split('\n').filter((l) => /^\s+\d\. /.test(l))
      const index = listed.findIndex((l) => l.includes(`[${chosen}]`))
      assert.ok(index >= 0, `the role ${chosen} is offered:\n${listed.join('\n')}`)
      agent.type(String(index + 1))
      await agent.waitFor('Signed in as ' + person.uid)
      assert.equal(agent.stdout().includes(passcode), false, 'the agent never prints the passcode')
      const [card] = await careid.context.store.cards.listByPerson(person.uid)
      assert.equal(card?.failed_attempts, 0, 'the right passcode reset the provider counter')
      // The worker's own applications ask the agent on its Unix socket, with no Origin.
      const socketPath = join(work, 'agent', 'agent.sock')
      assert.ok(agent.stdout().includes(`Local API for this user's own applications on ${socketPath} (no Origin needed).`))
      const status = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
        get({ socketPath, path: '/status' }, (response) => {
          let body = ''
          response.on('data', (chunk: Buffer) => (body += chunk.toString()))
          response.on('end', () => resolve({ status: response.statusCode, body }))
        }).on('error', reject)
      })
      assert.equal(status.status, 200)
      assert.equal((JSON.parse(status.body) as { signed_in: boolean; uid: string }).uid, person.uid)

      // 2. In the browser: the application asks for AAL3; Careid's smartcard page gets a ticket from the agent.
      const csp: string[] = []
      page.on('response', (response) => {
        if (response.url().includes('/interaction/')) csp.push(response.headers()['content-security-policy'] ?? '')
      })
      await page.goto(authorizeUrl(rp, { scope: 'openid profile', state: 'st-1', nonce: 'n-1', acr_values: 'AAL3_ANY' }))
      // AAL3_ANY offers every AAL3 method: the worker chooses the smartcard.
      await page.check('input[name="method"][value="smartcard"]')
      await page.locator('form button').first().click()
      await page.waitForURL((u) => u.href.startsWith(rp.redirect_uri), { timeout: 30_000 })
      assert.deepEqual(problems, [], 'no CSP violation or script error on the way')
      assert.ok(csp.some((c) => c.includes(`connect-src 'self' http://127.0.0.1:`)), `the smartcard page allowed the agent: ${csp.join(' | ')}`)
      assert.equal((agent.stdout().match(/Passcode for the card/g) ?? []).length, 2, 'the browser journey asked for no passcode')
      const tokens = await redeem(rp, page.url())
      assert.deepEqual(tokens.id.amr, ['N3_SMARTCARD'])
      assert.equal(tokens.id.acr, 'AAL3_ANY')
      assert.equal(tokens.id.authentication_assurance_level, '3')
      assert.equal(tokens.id.sub, person.uid)
      assert.equal(tokens.id.selected_roleid, chosen, 'the role chosen at the agent')
      const sid = tokens.id.sid
      assert.equal(typeof sid, 'string')

      // 3. The worker removes the card: the agent ends the card session, and with it the CIS2 session.
      await kind.remove(work)
      await agent.waitFor('Card removed: signed out (1 sign-in ended).')
      const [logoutToken] = await receiver.waitFor(1, 15_000)
      assert.ok(logoutToken)
      const { payload } = await jwtVerify(logoutToken, createLocalJWKSet((await fetchJwks(careid)) as unknown as JSONWebKeySet), {
        issuer: careid.issuer,
        audience: rp.client_id,
        typ: 'logout+jwt',
      })
      assert.equal(payload.sid, sid)
      assert.equal(payload.sub, person.uid)
      assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} })
      assert.equal(payload.nonce, undefined)

      // 4. The browser's CIS2 session is gone: prompt=none answers login_required.
      await page.goto(authorizeUrl(rp, { scope: 'openid', state: 'st-2', acr_values: 'AAL3_ANY', prompt: 'none' }))
      await page.waitForURL((u) => u.href.startsWith(rp.redirect_uri))
      const answer = new URL(page.url())
      assert.equal(answer.searchParams.get('error'), 'login_required')
      assert.equal(answer.searchParams.get('state'), 'st-2')
    })
  })
}

describe('the smartcard page without an agent or without a card', requires(chromium), () => {
  let careid: TestCareid
  let agent: AgentProcess | undefined
  let agentPort: number
  let work: string
  let context: BrowserContext
  let page: Page
  const violations: string[] = []

  before(async () => {
    agentPort = await freePort()
    careid = await startTestCareid({ config: { agentOrigin: `http://127.0.0.1:${agentPort}` } })
    work = mkdtempSync(join(tmpdir(), 'careid-smartcard-'))
    ;({ context, page } = await launchChromium(mkdtempSync(join(work, 'chromium-'))))
    page.on('console', (message) => {
      if (message.text().includes('CSP violation')) violations.push(message.text())
    })
    page.on('pageerror', (error) => violations.push(error.message))
  })
  after(async () => {
    await context?.close()
    await agent?.stop()
    await careid?.close()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  it('says plainly that the agent is not running, or that there is no card, and offers the other ways in', async () => {
    const redirect_uri = 'https://rp.example.test/callback'
    const { client_id } = await careid.addClient({ redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' })
    const url = new URL(`${careid.origin}${new URL(careid.issuer).pathname}/authorize`)
    url.search = new URLSearchParams({ response_type: 'code', client_id, redirect_uri, scope: 'openid', state: 's', acr_values: 'AAL2_OR_AAL3_ANY' }).toString()
    await page.goto(url.href)
    await page.getByLabel('Smartcard').check()
    await Promise.all([page.waitForURL(/\/method$/), page.getByRole('button', { name: 'Continue' }).click()])

    // No agent listens: the page says so, and names the other ways this application accepts.
    await page.getByText('The Identity Agent is not running').waitFor({ state: 'visible', timeout: 15_000 })
    assert.equal(await page.getByText('No smartcard', { exact: false }).first().isVisible(), false)
    assert.ok((await page.locator('main').textContent())?.includes('also accepts: Authenticator app'))

    // The agent starts, with an empty reader: "Try again" now says there is no card.
    agent = startAgentProcess(['--provider', careid.issuer, '--port', String(agentPort), '--agent-dir', join(work, 'agent')])
    await agent.waitFor('Insert your smartcard.')
    await page.getByRole('link', { name: 'Try again' }).click()
    await page.getByText('there is no smartcard in the reader').waitFor({ state: 'visible', timeout: 15_000 })
    assert.equal(await page.getByText('The Identity Agent is not running').isVisible(), false)

    // Another way in: back to the choice.
    await Promise.all([page.waitForURL(/\/back$/), page.getByRole('link', { name: 'Choose another way to sign in' }).click()])
    assert.match((await page.locator('h1').textContent()) ?? '', /How do you want to sign in\?/)
    assert.deepEqual(violations, [], 'no CSP violation or script error')
  })
})
