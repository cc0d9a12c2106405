/**
 * The redirect-only handoff to the Identity Agent (architecture.md section 4 flow 3; cis2.md 5.2:
 * with a CIS1 session the worker "is not asked to sign in again. They do see browser
 * redirects"): the journey's first step is a redirect to the agent's `GET /handoff`, which sends
 * the browser back to `{issuer}/interaction/{id}/smartcard/return` with a ticket from its card
 * session, and the journey goes on to the client by redirects alone. The answer is taken only from
 * the browser that started the journey, once, while its challenge lives; an agent with nothing to
 * give sends the journey back to its pages. The `agentHandoff` setting decides which browsers are
 * handed off: `always`, `hinted` (only a browser where an agent's ticket worked before) or `never`.
 * The seam is the authenticator port's, not the smartcard's: a plugin's authenticator, bound to its
 * store parts, hands off the same way.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createAgent, createAgentKey, createProviderClient, startLocalApi, type Agent, type LocalApi } from '@careid/agent'
import { issueVirtualCard, openCardAuthority, VirtualCardReader, writeCardFile } from '@careid/cards'
import { demoWorkforce } from '@careid/domain'
import type { AgentHandoff } from '@careid/oidc'
import { totpPage } from '@careid/authenticators'
import { bindAuthenticator, type AeadSecretBox, type Authenticator, type PersonStore, type StepResult } from '@careid/ports'
import type { CareidPlugin } from '../../packages/cli/src/start.ts'
import { Browser, form, radioValues, type Landing, type PageResult } from '../support/browser.ts'
import { freePort, startTestCareid, type TestCareid } from '../support/careid.ts'
import { authorizeUrl, redeem, type TestRp } from '../support/rp.ts'

const passcode = '5038271'
const worker = demoWorkforce.find((p) => p.username === 'dr.patel')
assert.ok(worker && worker.positions.length > 1, 'dr.patel holds several roles')
const role = worker.positions[1]?.person_roleid as string

interface Setup {
  careid: TestCareid
  rp: TestRp
  agent: Agent
  api: LocalApi
  /** Moves the provider's clock on. */
  skip(ms: number): void
  /** Types the passcode and chooses the role at the agent; resolves once it is signed in. */
  signInAtAgent(): Promise<void>
  close(): Promise<void>
}

/** A Careid with `agentHandoff`, a client, and dr.patel's agent (card in the reader, not signed in yet). */
async function setUp(agentHandoff: AgentHandoff, work: string): Promise<Setup> {
  let offset = 0
  const agentPort = await freePort()
  const careid = await startTestCareid({ config: { agentOrigin: `http://127.0.0.1:${agentPort}`, agentHandoff }, now: () => Date.now() + offset })
  const redirect_uri = 'https://rp.example.test/callback'
  const registered = await careid.addClient({ redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' })
  const rp = { careid, client_id: registered.client_id, client_secret: registered.client_secret as string, redirect_uri }
  const store = careid.context.store
  const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: careid.context.secrets as AeadSecretBox })
  const { file } = await issueVirtualCard({ authority, uid: worker!.uid, passcode, now: Date.now() })
  const dir = join(work, agentHandoff)
  mkdirSync(dir, { recursive: true })
  await writeCardFile(join(dir, 'card.json'), file)
  const key = await createAgentKey()
  // The person at the agent: the passcode is typed once asked; the role is the one chosen.
  let typePasscode: (value: string | undefined) => void = () => undefined
  let passcodeAsked: () => void = () => undefined
  const asked = new Promise<void>((resolve) => (passcodeAsked = resolve))
  const agent = createAgent({
    issuer: careid.issuer,
    mode: 'identity-agent',
    reader: new VirtualCardReader(join(dir, 'card.json')),
    provider: createProviderClient({ issuer: careid.issuer, key }),
    key,
    prompter: {
      passcode: () =>
        new Promise<string | undefined>((resolve) => {
          typePasscode = resolve
          passcodeAsked()
        }),
      chooseRole: async () => role,
      say: () => undefined,
    },
    pollMs: 50,
  })
  const api = await startLocalApi({ agent, providerOrigin: careid.origin, port: agentPort })
  void agent.start()
  return {
    careid,
    rp,
    agent,
    api,
    skip: (ms) => (offset += ms),
    async signInAtAgent() {
      await asked
      typePasscode(passcode)
      for (let i = 0; i < 400 && agent.status().selected_roleid !== role; i++) await new Promise((r) => setTimeout(r, 25))
      assert.equal(agent.status().selected_roleid, role, 'signed in at the agent, with the role')
    },
    async close() {
      await api.close()
      await agent.stop()
      await careid.close()
    },
  }
}

function shown(landing: Landing): PageResult {
  assert.ok(landing.page, `expected a page, was redirected to ${landing.location}`)
  return landing.page
}

/** The location of a response that must be a redirect. */
async function redirected(response: Response, status = 302): Promise<URL> {
  assert.equal(response.status, status)
  await response.body?.cancel()
  const location = response.headers.get('location')
  assert.ok(location)
  return new URL(location)
}

/** The browser starts a sign-in; Careid sends it to the agent at once. Returns the handoff URL. */
async function handedOff(s: Setup, browser: Browser, acr = 'AAL3_ANY'): Promise<URL> {
  const landing = await browser.go(authorizeUrl(s.rp, { scope: 'openid', state: 'st', acr_values: acr }))
  assert.ok(landing.location, `expected a handoff, got a page: ${landing.page?.url}`)
  const handoff = new URL(landing.location)
  assert.equal(handoff.origin, s.api.origin)
  assert.equal(handoff.pathname, '/handoff')
  assert.deepEqual([...handoff.searchParams.keys()], ['challenge', 'interaction'])
  return handoff
}

/** The agent's answer to a handoff, as the browser gets it (a navigation: no Origin). */
async function agentAnswer(handoff: URL): Promise<URL> {
  const response = await fetch(handoff, { redirect: 'manual' })
  assert.equal(response.headers.get('referrer-policy'), 'no-referrer')
  return redirected(response)
}

describe('the redirect-only handoff to the Identity Agent', () => {
  let work: string
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'careid-handoff-'))
  })
  after(() => rmSync(work, { recursive: true, force: true }))

  describe('with agentHandoff always', () => {
    let s: Setup
    before(async () => {
      s = await setUp('always', work)
    })
    after(async () => s?.close())

    it('an agent with no card session answers no_session: the journey shows the method choice, as without a handoff', async () => {
      const browser = new Browser(s.careid.origin)
      const handoff = await handedOff(s, browser, 'AAL2_OR_AAL3_ANY')
      const back = await agentAnswer(handoff)
      const interaction = handoff.searchParams.get('interaction') as string
      assert.equal(back.href, `${s.careid.issuer}/interaction/${interaction}/smartcard/return?error=no_session`)
      const page = shown(await browser.go(back.href))
      assert.equal(page.status, 200)
      assert.match(page.html, /How do you want to sign in\?/)
      assert.deepEqual(radioValues(page, 'method').sort(), ['mobile', 'passkey', 'security_key', 'smartcard', 'totp', 'windows_hello'])
      // Once a journey: the choice page again, not another handoff.
      const again = shown(await browser.go(`${s.careid.issuer}/interaction/${interaction}`))
      assert.match(again.html, /How do you want to sign in\?/)
    })

    it('signed in at the agent: the browser goes to the client by redirects alone, N3_SMARTCARD with the agent\'s role', async () => {
      await s.signInAtAgent()
      const browser = new Browser(s.careid.origin)
      const handoff = await handedOff(s, browser)
      const back = await agentAnswer(handoff)
      assert.equal(`${back.origin}${back.pathname}`, `${s.careid.issuer}/interaction/${handoff.searchParams.get('interaction')}/smartcard/return`)
      assert.deepEqual([...back.searchParams.keys()], ['ticket'])
      const response = await browser.fetch(back.href)
      const toClient = await redirected(response)
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer')
      assert.equal(`${toClient.origin}${toClient.pathname}`, s.rp.redirect_uri)
      const tokens = await redeem(s.rp, toClient.href)
      assert.deepEqual(tokens.id.amr, ['N3_SMARTCARD'])
      assert.equal(tokens.id.acr, 'AAL3_ANY')
      assert.equal(tokens.id.sub, worker!.uid)
      assert.equal(tokens.id.selected_roleid, role)
      // The browser is remembered as one that reaches the agent.
      assert.equal(browser.cookies.get('careid_handoff'), 'smartcard')

      // The same answer again: the journey is over, and the ticket signs nobody in twice.
      const replayed = shown(await browser.go(back.href))
      assert.equal(replayed.status, 400)
      assert.match(replayed.html, /This sign-in has expired or is not valid\./)
    })

    it('takes the answer only from the browser that started the journey, and then still from that one', async () => {
      const browser = new Browser(s.careid.origin)
      const back = await agentAnswer(await handedOff(s, browser))
      const refused = shown(await new Browser(s.careid.origin).go(back.href))
      assert.equal(refused.status, 400)
      assert.match(refused.html, /This sign-in has expired or is not valid\./)
      const landing = await browser.go(back.href)
      assert.ok(landing.location?.startsWith(s.rp.redirect_uri), `expected the client, got ${landing.page?.url}`)
      const tokens = await redeem(s.rp, landing.location)
      assert.deepEqual(tokens.id.amr, ['N3_SMARTCARD'])
    })

    it('refuses an answer for another method, and one the journey never asked for', async () => {
      const browser = new Browser(s.careid.origin)
      const handoff = await handedOff(s, browser)
      const back = await agentAnswer(handoff)
      const otherMethod = shown(await browser.go(back.href.replace('/smartcard/return', '/totp/return')))
      assert.equal(otherMethod.status, 400)
      assert.match(otherMethod.html, /This sign-in has expired or is not valid\./)
      // A journey that was never handed off (a password sign-in) takes no answer either.
      const plain = new Browser(s.careid.origin)
      const page = shown(await plain.go(authorizeUrl(s.rp, { scope: 'openid', state: 'st', acr_values: 'AAL1_USERPASS' })))
      const id = /\/interaction\/([^/]+)\//.exec(form(page, '/authenticate').action)?.[1] as string
      const stray = shown(await plain.go(`${s.careid.issuer}/interaction/${id}/smartcard/return?ticket=${encodeURIComponent(back.searchParams.get('ticket') as string)}`))
      assert.equal(stray.status, 400)
      assert.match(stray.html, /This sign-in has expired or is not valid\./)
    })

    it('does not hand off where the request accepts no smartcard', async () => {
      const page = shown(await new Browser(s.careid.origin).go(authorizeUrl(s.rp, { scope: 'openid', state: 'st', acr_values: 'AAL2_TOTP' })))
      assert.equal(page.status, 200)
      assert.ok(form(page, '/authenticate'))
      assert.match(page.html, /<title>Enter your username and password/)
    })

    it('an answer after the challenge expired: the smartcard page says the sign-in took too long', async () => {
      const browser = new Browser(s.careid.origin)
      const back = await agentAnswer(await handedOff(s, browser))
      s.skip(61_000)
      const page = shown(await browser.go(back.href))
      assert.equal(page.status, 400)
      assert.match(page.html, /This sign-in took too long\. Try again/)
      assert.match(page.html, /Sign in with your smartcard/)
    })
  })

  describe('with agentHandoff hinted (the default)', () => {
    let s: Setup
    before(async () => {
      s = await setUp('hinted', work)
      await s.signInAtAgent()
    })
    after(async () => s?.close())

    it('shows the smartcard page to a browser with no hint; once its ticket worked there, hands that browser off', async () => {
      const browser = new Browser(s.careid.origin)
      // AAL3_SMARTCARD: the smartcard is the one method offered, so its page comes at once.
      const page = shown(await browser.go(authorizeUrl(s.rp, { scope: 'openid', state: 'st', acr_values: 'AAL3_SMARTCARD' })))
      assert.match(page.html, /Sign in with your smartcard/)
      const challenge = /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string
      const issued = await fetch(`${s.api.origin}/ticket?noauth=1`, { method: 'POST', headers: { origin: s.careid.origin, 'content-type': 'application/json' }, body: JSON.stringify({ challenge }) })
      const { ticket } = (await issued.json()) as { ticket: string }
      const f = form(page, '/authenticate')
      const landing = await browser.go(f.action, { form: { ...f.fields, ticket } })
      assert.ok(landing.location?.startsWith(s.rp.redirect_uri))
      assert.equal(browser.cookies.get('careid_handoff'), 'smartcard')

      // prompt=login: a new journey for the same browser, which now goes to the agent by redirect.
      const next = await browser.go(authorizeUrl(s.rp, { scope: 'openid', state: 'st-2', acr_values: 'AAL3_ANY', prompt: 'login' }))
      assert.ok(next.location?.startsWith(`${s.api.origin}/handoff?`), `expected a handoff, got ${next.page?.url ?? next.location}`)
      const done = await browser.go((await agentAnswer(new URL(next.location as string))).href)
      assert.ok(done.location?.startsWith(s.rp.redirect_uri))
      const tokens = await redeem(s.rp, done.location)
      assert.deepEqual(tokens.id.amr, ['N3_SMARTCARD'])
      assert.equal(tokens.id.selected_roleid, role)
    })
  })

  describe('with agentHandoff never', () => {
    let s: Setup
    before(async () => {
      s = await setUp('never', work)
      await s.signInAtAgent()
    })
    after(async () => s?.close())

    it('shows the smartcard page even to a browser whose agent ticket worked before', async () => {
      const browser = new Browser(s.careid.origin)
      for (const state of ['st-1', 'st-2']) {
        const page = shown(await browser.go(authorizeUrl(s.rp, { scope: 'openid', state, acr_values: 'AAL3_SMARTCARD', prompt: 'login' })))
        assert.match(page.html, /Sign in with your smartcard/)
        const challenge = /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string
        const issued = await fetch(`${s.api.origin}/ticket?noauth=1`, { method: 'POST', headers: { origin: s.careid.origin, 'content-type': 'application/json' }, body: JSON.stringify({ challenge }) })
        const f = form(page, '/authenticate')
        const landing = await browser.go(f.action, { form: { ...f.fields, ticket: ((await issued.json()) as { ticket: string }).ticket } })
        assert.ok(landing.location?.startsWith(s.rp.redirect_uri))
        assert.equal(browser.cookies.get('careid_handoff'), 'smartcard')
      }
    })
  })
})

/** The store parts the prover's authenticator uses. */
interface ProverContext {
  people: Pick<PersonStore, 'getByUsername'>
}

/**
 * A plugin's authenticator whose proof comes from a "prover" outside Careid: it hands the browser
 * off with a fresh nonce, and the prover sends it back naming the person, with that nonce.
 */
function proverAuthenticator(): Authenticator<ProverContext> {
  const refused = (state: { nonce: string } | null): StepResult => ({ type: 'failure', state, view: { page: 'totp', error: 'invalid_code' }, reason: 'invalid_code' })
  return {
    method: { id: 'prover', amr: 'NHSMAIL', aal: 2, acr: 'AAL2_NHSMAIL', label: 'Prover', description: 'Proved elsewhere.' },
    pages: [totpPage],
    async start() {
      return { state: null, view: { page: 'totp' } }
    },
    async handoff(_ctx, interactionId) {
      const nonce = randomBytes(16).toString('base64url')
      return { state: { nonce }, location: `https://prover.example.test/prove?${new URLSearchParams({ nonce, interaction: interactionId }).toString()}` }
    },
    async submit(ctx, raw, input) {
      const state = raw as { nonce: string } | null
      if (input.error !== undefined) return { type: 'declined' }
      if (state === null || input.nonce !== state.nonce) return refused(state)
      const found = (await ctx.people.getByUsername(input.username ?? '')) as { uid?: unknown } | undefined
      if (typeof found?.uid !== 'string') return refused(state)
      return { type: 'success', uid: found.uid, amr: ['NHSMAIL'], handoff_ready: true }
    },
  }
}

const proverPlugin: CareidPlugin = ({ store }) => ({ authenticators: [bindAuthenticator(proverAuthenticator(), { people: store.people })] })

describe("a plugin's authenticator hands off through the same seam", () => {
  let careid: TestCareid
  let rp: TestRp
  before(async () => {
    careid = await startTestCareid({ config: { agentHandoff: 'always' }, plugins: [proverPlugin] })
    const redirect_uri = 'https://rp.example.test/callback'
    const registered = await careid.addClient({ redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' })
    rp = { careid, client_id: registered.client_id, client_secret: registered.client_secret as string, redirect_uri }
  })
  after(async () => careid?.close())

  it('sends the browser to the prover, takes its answer by GET, and signs the person in with redirects alone', async () => {
    const browser = new Browser(careid.origin)
    const landing = await browser.go(authorizeUrl(rp, { scope: 'openid', state: 'st', acr_values: 'AAL2_NHSMAIL' }))
    const prove = new URL(landing.location as string)
    assert.equal(`${prove.origin}${prove.pathname}`, 'https://prover.example.test/prove')
    const back = `${careid.issuer}/interaction/${prove.searchParams.get('interaction')}/prover/return?${new URLSearchParams({ nonce: prove.searchParams.get('nonce') as string, username: 'dr.patel' }).toString()}`
    const done = await browser.go(back)
    assert.ok(done.location?.startsWith(rp.redirect_uri), `expected the client, got ${done.page?.url}`)
    const tokens = await redeem(rp, done.location)
    assert.deepEqual(tokens.id.amr, ['NHSMAIL'])
    assert.equal(tokens.id.sub, worker!.uid)
    assert.equal(browser.cookies.get('careid_handoff'), 'prover')
  })

  it('an answer with the wrong nonce is the step failing: its page, saying so', async () => {
    const browser = new Browser(careid.origin)
    const landing = await browser.go(authorizeUrl(rp, { scope: 'openid', state: 'st', acr_values: 'AAL2_NHSMAIL' }))
    const prove = new URL(landing.location as string)
    const page = shown(await browser.go(`${careid.issuer}/interaction/${prove.searchParams.get('interaction')}/prover/return?nonce=forged&username=dr.patel`))
    assert.equal(page.status, 400)
    assert.match(page.html, /Enter the correct 6-digit code from your authenticator app/)
  })
})
