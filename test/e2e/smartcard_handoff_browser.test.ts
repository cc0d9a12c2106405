/**
 * The CIS1-alongside-CIS2 journey in a real browser (headless Chromium), redirects only
 * (architecture.md section 4 flow 3; cis2.md 5.2): the worker signs in at the Identity Agent
 * (`careid agent start`) with card, passcode and role; an application on a third origin then sends
 * the browser to Careid with acr_values AAL3_ANY, and the browser comes back to the application's
 * redirect URI having been shown no Careid page at all: Careid hands it to the agent, the agent
 * sends it back with a ticket from its card session, and Careid redirects to the client. Every
 * response the page receives is recorded: none from the provider is a document, each is a 302 or
 * 303. The ID token says N3_SMARTCARD with the role chosen at the agent; removing the card logs
 * the application out as before.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import type { BrowserContext, Page } from 'playwright-core'
import { issueVirtualCard, openCardAuthority, writeCardFile } from '@careid/cards'
import { demoWorkforce } from '@careid/domain'
import type { AeadSecretBox } from '@careid/ports'
import { startAgentProcess, type AgentProcess } from '../support/agent.ts'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { freePort, startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { runCareid } from '../support/cli.ts'
import { authorizeUrl, fetchJwks, redeem, type TestRp } from '../support/rp.ts'
import { chromium, requires } from '../support/system_packages.ts'

interface Seen {
  url: string
  status: number
  contentType: string
}

describe('a worker signed in at the Identity Agent reaches an application in Chromium through redirects only', requires(chromium), () => {
  const person = demoWorkforce.find((p) => p.username === 'dr.patel')
  assert.ok(person && person.positions.length === 3, 'dr.patel holds three roles')
  const chosen = person.positions[2]?.person_roleid as string
  const passcode = '736105'
  let careid: TestCareid
  let receiver: Receiver
  let rp: TestRp
  let agent: AgentProcess
  let agentOrigin: string
  let work: string
  let context: BrowserContext
  let page: Page
  const problems: string[] = []

  before(async () => {
    const agentPort = await freePort()
    agentOrigin = `http://127.0.0.1:${agentPort}`
    // An estate where every workstation runs the agent: the first journey of a fresh browser is handed off.
    careid = await startTestCareid({ config: { agentOrigin, agentHandoff: 'always' } })
    receiver = await startReceiver()
    // The application's redirect URI is on a third origin (the receiver's server answers any GET).
    const redirect_uri = new URL('/callback', receiver.url).href
    const registered = await careid.addClient({ redirect_uris: [redirect_uri], backchannel_logout_uri: receiver.url, token_endpoint_auth_method: 'client_secret_post' })
    rp = { careid, client_id: registered.client_id, client_secret: registered.client_secret as string, redirect_uri }
    work = mkdtempSync(join(tmpdir(), 'careid-handoff-'))

    const store = careid.context.store
    const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: careid.context.secrets as AeadSecretBox })
    const { file } = await issueVirtualCard({ authority, uid: person.uid, passcode, now: Date.now() })
    await writeCardFile(join(work, 'card.json'), file)
    const inserted = await runCareid(['agent', 'insert', join(work, 'card.json'), '--agent-dir', join(work, 'agent')])
    assert.equal(inserted.code, 0, inserted.stderr)
    agent = startAgentProcess(['--provider', careid.issuer, '--port', String(agentPort), '--agent-dir', join(work, 'agent')])

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

  it('signs in at the agent, then the application gets its code without a Careid page; removing the card logs it out', async () => {
    // 1. At the agent: card, passcode, role.
    await agent.waitFor('Passcode for the card of ' + person.uid)
    agent.type(passcode)
    await agent.waitFor('Role [1-3]')
    const listed = agent.stdout().split('\n').filter((l) => /^\s+\d\. /.test(l))
    const index = listed.findIndex((l) => l.includes(`[${chosen}]`))
    assert.ok(index >= 0, `the role ${chosen} is offered:\n${listed.join('\n')}`)
    agent.type(String(index + 1))
    await agent.waitFor('Signed in as ' + person.uid)

    // 2. In the browser: every response on the way is recorded.
    const seen: Seen[] = []
    page.on('response', (response) => {
      seen.push({ url: response.url(), status: response.status(), contentType: response.headers()['content-type'] ?? '' })
    })
    await page.goto(authorizeUrl(rp, { scope: 'openid profile', state: 'st-1', nonce: 'n-1', acr_values: 'AAL3_ANY' }))
    await page.waitForURL((u) => u.href.startsWith(rp.redirect_uri), { timeout: 30_000 })
    assert.deepEqual(problems, [], 'no CSP violation or script error on the way')

    const route = seen.map((s) => `${s.status} ${new URL(s.url).origin}${new URL(s.url).pathname}`)
    const provider = seen.filter((s) => new URL(s.url).origin === careid.origin)
    assert.ok(provider.length >= 3, `the authorize request, the journey and the agent's answer reached the provider:\n${route.join('\n')}`)
    for (const response of provider) {
      assert.ok([302, 303].includes(response.status), `every provider response is a redirect:\n${route.join('\n')}`)
      assert.equal(response.contentType.includes('text/html'), false, `no provider response is an HTML document:\n${route.join('\n')}`)
    }
    const issuerPath = new URL(careid.issuer).pathname
    assert.deepEqual(
      route.map((r) => r.replace(/\/interaction\/[^/]+/, '/interaction/:id')),
      [
        `302 ${careid.origin}${issuerPath}/authorize`,
        `302 ${careid.origin}${issuerPath}/interaction/:id`,
        `302 ${agentOrigin}/handoff`,
        `302 ${careid.origin}${issuerPath}/interaction/:id/smartcard/return`,
        `200 ${new URL(rp.redirect_uri).origin}/callback`,
      ],
      'authorize, the journey, the agent, the journey again, the application',
    )
    assert.equal((agent.stdout().match(/Passcode for the card/g) ?? []).length, 1, 'the browser journey asked for no passcode')

    const tokens = await redeem(rp, page.url())
    assert.deepEqual(tokens.id.amr, ['N3_SMARTCARD'])
    assert.equal(tokens.id.acr, 'AAL3_ANY')
    assert.equal(tokens.id.authentication_assurance_level, '3')
    assert.equal(tokens.id.sub, person.uid)
    assert.equal(tokens.id.selected_roleid, chosen, 'the role chosen at the agent')
    const sid = tokens.id.sid
    assert.equal(typeof sid, 'string')

    // 3. The card is removed: the agent ends the card session, and with it the CIS2 session.
    const ejected = await runCareid(['agent', 'eject', '--agent-dir', join(work, 'agent')])
    assert.equal(ejected.code, 0, ejected.stderr)
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

    // 4. The browser's CIS2 session is gone: prompt=none answers login_required.
    await page.goto(authorizeUrl(rp, { scope: 'openid', state: 'st-2', acr_values: 'AAL3_ANY', prompt: 'none' }))
    await page.waitForURL((u) => u.href.startsWith(rp.redirect_uri))
    const answer = new URL(page.url())
    assert.equal(answer.searchParams.get('error'), 'login_required')
    assert.equal(answer.searchParams.get('state'), 'st-2')
  })
})
