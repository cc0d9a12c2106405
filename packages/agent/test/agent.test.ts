/**
 * The Identity Agent in-process against a real Careid: its local API (only the provider's origin,
 * CORS for it alone, getTicket / getTicketNoAuth, the handoff's redirect back to the provider), its
 * status, card removal, and the Smartcard
 * Connect mode (passcode for every sign-in, CIS2_SMARTCARD, removal ends nothing). The person's
 * answers come from a script instead of a terminal.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createAgent, createAgentKey, createProviderClient, startLocalApi, type Agent, type AgentMode, type Prompter } from '@careid/agent'
import { issueVirtualCard, openCardAuthority, VirtualCardReader, writeCardFile } from '@careid/cards'
import { demoWorkforce } from '@careid/domain'
import type { AeadSecretBox } from '@careid/ports'
import { Browser, form, type PageResult } from '../../../test/support/browser.ts'
import { freePort, startTestCareid, type TestCareid } from '../../../test/support/careid.ts'
import { authorizeUrl, redeem, type TestRp } from '../../../test/support/rp.ts'

const passcode = '7351902'

/** The person at the agent, as a script: passcodes and role choices are given when asked. */
function scriptedPerson() {
  const said: string[] = []
  const asked: string[] = []
  const answers: Array<string | undefined> = []
  const waiting: Array<(answer: string | undefined) => void> = []
  const next = (what: string) => {
    asked.push(what)
    const answer = answers.shift()
    return answer !== undefined || answers.length > 0 ? Promise.resolve(answer) : new Promise<string | undefined>((resolve) => waiting.push(resolve))
  }
  const prompter: Prompter = {
    passcode: () => next('passcode'),
    chooseRole: (roles) => next(`role of ${roles.length}`),
    say: (line) => said.push(line),
  }
  return {
    prompter,
    said,
    asked,
    answer(value: string | undefined) {
      const resolve = waiting.shift()
      if (resolve !== undefined) resolve(value)
      else answers.push(value)
    },
    async until(predicate: () => boolean, what: string): Promise<void> {
      for (let i = 0; i < 400 && !predicate(); i++) await new Promise((r) => setTimeout(r, 25))
      assert.ok(predicate(), `${what}; the agent said: ${said.join(' | ')}`)
    },
  }
}

interface Running {
  agent: Agent
  api: { origin: string; close(): Promise<void> }
  person: ReturnType<typeof scriptedPerson>
  cardPath: string
}

describe('the Identity Agent', () => {
  let careid: TestCareid
  let agentPort: number
  let work: string
  let rp: TestRp
  const running: Running[] = []

  before(async () => {
    agentPort = await freePort()
    careid = await startTestCareid({ config: { agentOrigin: `http://127.0.0.1:${agentPort}` } })
    const redirect_uri = 'https://rp.example.test/callback'
    const registered = await careid.addClient({ redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' })
    rp = { careid, client_id: registered.client_id, client_secret: registered.client_secret as string, redirect_uri }
    work = mkdtempSync(join(tmpdir(), 'careid-agent-'))
  })
  after(async () => {
    for (const r of running) {
      await r.api.close()
      await r.agent.stop()
    }
    await careid?.close()
    rmSync(work, { recursive: true, force: true })
  })

  async function start(username: string, mode: AgentMode, port = 0, socketPath?: string): Promise<Running> {
    const holder = demoWorkforce.find((p) => p.username === username)
    assert.ok(holder)
    const store = careid.context.store
    const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: careid.context.secrets as AeadSecretBox })
    const { file } = await issueVirtualCard({ authority, uid: holder.uid, passcode, now: Date.now() })
    const dir = join(work, username, 'reader')
    mkdirSync(dir, { recursive: true })
    const cardPath = join(dir, 'card.json')
    await writeCardFile(cardPath, file)
    const key = await createAgentKey()
    const person = scriptedPerson()
    const agent = createAgent({ issuer: careid.issuer, mode, reader: new VirtualCardReader(cardPath), provider: createProviderClient({ issuer: careid.issuer, key }), key, prompter: person.prompter, pollMs: 50 })
    const api = await startLocalApi({ agent, providerOrigin: careid.origin, port, socketPath })
    const r = { agent, api, person, cardPath }
    running.push(r)
    void agent.start()
    return r
  }

  function ticket(r: Running, challenge: string, options: { origin?: string | null; noauth?: boolean } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (options.origin !== null) headers.origin = options.origin ?? careid.origin
    return fetch(`${r.api.origin}/ticket${options.noauth === true ? '?noauth=1' : ''}`, { method: 'POST', headers, body: JSON.stringify({ challenge }) })
  }

  async function smartcardPage(browser: Browser, acr: string): Promise<PageResult> {
    const landing = await browser.go(authorizeUrl(rp, { scope: 'openid', state: 's', acr_values: acr }))
    assert.ok(landing.page, `expected the smartcard page, got ${landing.location}`)
    assert.match(landing.page.html, /Sign in with your smartcard/)
    return landing.page
  }

  const challengeOf = (page: PageResult) => /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string

  describe('in Identity Agent mode', () => {
    let r: Running
    const challenge = 'c'.repeat(43)

    before(async () => {
      r = await start('dr.patel', 'identity-agent')
      await r.person.until(() => r.person.asked.includes('passcode'), 'the agent asks the passcode when the card is seen')
    })

    it('serves only the provider origin: anything else is 403 wrong_origin without CORS headers', async () => {
      for (const origin of ['http://evil.example', 'http://127.0.0.1:1', careid.origin.replace('localhost', '127.0.0.1')]) {
        const response = await ticket(r, challenge, { origin })
        assert.equal(response.status, 403, origin)
        assert.deepEqual(await response.json(), { error: 'wrong_origin' })
        assert.equal(response.headers.get('access-control-allow-origin'), null)
        const preflight = await fetch(`${r.api.origin}/ticket`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } })
        assert.equal(preflight.status, 403)
        assert.equal(preflight.headers.get('access-control-allow-origin'), null)
        const status = await fetch(`${r.api.origin}/status`, { headers: { origin } })
        assert.equal(status.status, 403)
      }
      // A ticket needs a page of the provider: no Origin at all is refused too.
      const bare = await ticket(r, challenge, { origin: null })
      assert.equal(bare.status, 403)
      assert.deepEqual(await bare.json(), { error: 'wrong_origin' })
    })

    it('answers the provider origin with CORS for it alone', async () => {
      const preflight = await fetch(`${r.api.origin}/ticket`, {
        method: 'OPTIONS',
        headers: { origin: careid.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type', 'access-control-request-private-network': 'true' },
      })
      assert.equal(preflight.status, 204)
      assert.equal(preflight.headers.get('access-control-allow-origin'), careid.origin)
      assert.equal(preflight.headers.get('access-control-allow-methods'), 'POST')
      assert.equal(preflight.headers.get('access-control-allow-private-network'), 'true')
      const bad = await ticket(r, 'short')
      assert.equal(bad.status, 400)
      assert.equal(bad.headers.get('access-control-allow-origin'), careid.origin)
      assert.deepEqual(await bad.json(), { error: 'invalid_request' })
    })

    it('getTicketNoAuth before the person signed in at the agent: 404 no_session, and no prompt', async () => {
      const asked = r.person.asked.length
      const response = await ticket(r, challenge, { noauth: true })
      assert.equal(response.status, 404)
      assert.deepEqual(await response.json(), { error: 'no_session' })
      assert.equal(r.person.asked.length, asked)
    })

    it('answers a handoff before the person signed in at the agent with a 302 saying no_session, and no prompt', async () => {
      const asked = r.person.asked.length
      const interaction = 'j'.repeat(22)
      const response = await fetch(`${r.api.origin}/handoff?challenge=${challenge}&interaction=${interaction}`, { redirect: 'manual' })
      assert.equal(response.status, 302)
      assert.equal(response.headers.get('location'), `${careid.issuer}/interaction/${interaction}/smartcard/return?error=no_session`)
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer')
      assert.equal(response.headers.get('cache-control'), 'no-store')
      assert.equal(response.headers.get('access-control-allow-origin'), null)
      assert.equal(r.person.asked.length, asked)
    })

    it('signs in at the agent (passcode, role), then gives tickets without asking; status holds no secret', async () => {
      r.person.answer(passcode)
      await r.person.until(() => r.person.asked.includes('role of 3'), 'the agent asks for a role')
      const role = demoWorkforce.find((p) => p.username === 'dr.patel')?.positions[2]?.person_roleid as string
      r.person.answer(role)
      await r.person.until(() => r.agent.status().selected_roleid === role, 'the role is chosen')
      const status = await fetch(`${r.api.origin}/status`, { headers: { origin: careid.origin } })
      const body = (await status.json()) as Record<string, unknown>
      assert.equal(status.status, 200)
      assert.deepEqual(Object.keys(body).sort(), ['card', 'mode', 'provider', 'selected_roleid', 'signed_in', 'uid'])
      assert.equal(body.signed_in, true)
      assert.equal(body.selected_roleid, role)

      const browser = new Browser(careid.origin)
      const page = await smartcardPage(browser, 'AAL3_N3_SMARTCARD')
      const asked = r.person.asked.length
      const response = await ticket(r, challengeOf(page), { noauth: true })
      assert.equal(response.status, 200)
      assert.equal(response.headers.get('access-control-allow-origin'), careid.origin)
      const { ticket: value } = (await response.json()) as { ticket: string }
      assert.equal(r.person.asked.length, asked, 'no passcode asked')
      const f = form(page, '/authenticate')
      const landing = await browser.go(f.action, { form: { ...f.fields, ticket: value } })
      const tokens = await redeem(rp, landing.location)
      assert.deepEqual(tokens.id.amr, ['N3_SMARTCARD'])
      assert.equal(tokens.id.acr, 'AAL3_N3_SMARTCARD')
      assert.equal(tokens.id.selected_roleid, role)
    })

    it('ends the card session when the card is removed: then no card, no ticket', async () => {
      rmSync(r.cardPath)
      await r.person.until(() => r.person.said.some((l) => l.startsWith('Card removed: signed out')), 'the agent signs out')
      assert.equal(r.agent.status().signed_in, false)
      const response = await ticket(r, challenge)
      assert.equal(response.status, 409)
      assert.deepEqual(await response.json(), { error: 'no_card' })
    })
  })

  describe('serving only the worker at the card', () => {
    let r: Running
    let port: number
    let socketPath: string
    /** A world-readable directory holding the caller script, so that a process of another user can run it. */
    let callerDir: string
    const nobody = 65534
    const challenge = 'c'.repeat(43)
    const asRoot = process.getuid?.() === 0
    const onLinuxAsRoot = process.platform === 'linux' && asRoot ? false : 'needs Linux and root, to run a caller as another user'

    /** One HTTP request to the local API from a separate node process, as `uid` (default: this process's user). */
    async function call(
      request: { method?: string; path: string; headers?: Record<string, string>; unix?: boolean; socketPath?: string },
      uid?: number,
    ): Promise<{ status?: number; cors?: string | null; body?: unknown; error?: string; location?: string }> {
      const target = request.unix === true ? { socketPath: request.socketPath ?? socketPath } : { host: '127.0.0.1', port }
      const child = spawn(process.execPath, [join(callerDir, 'caller.mjs'), JSON.stringify({ ...target, method: request.method ?? 'GET', path: request.path, headers: request.headers ?? {}, challenge })], {
        cwd: callerDir,
        env: { PATH: process.env.PATH ?? '' },
        ...(uid === undefined ? {} : { uid, gid: uid }),
      })
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      let err = ''
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
      const [code] = (await once(child, 'close')) as [number]
      assert.equal(code, 0, err)
      return JSON.parse(out) as { status?: number; cors?: string | null; body?: unknown; error?: string; location?: string }
    }
    const fromPage = () => ({ origin: careid.origin, host: `127.0.0.1:${port}` })
    const interaction = 'i'.repeat(22)
    const handoffPath = `/handoff?challenge=${challenge}&interaction=${interaction}`

    before(async () => {
      callerDir = mkdtempSync(join(tmpdir(), 'careid-agent-caller-'))
      chmodSync(callerDir, 0o755)
      writeFileSync(
        join(callerDir, 'caller.mjs'),
        `import { request } from 'node:http'
const { socketPath, host, port, method, path, headers, challenge } = JSON.parse(process.argv[2])
const req = request({ socketPath, host, port, method, path, headers }, (res) => {
  let body = ''
  res.setEncoding('utf8')
  res.on('data', (chunk) => (body += chunk))
  const location = res.headers.location === undefined ? {} : { location: res.headers.location }
  res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, cors: res.headers['access-control-allow-origin'] ?? null, body: JSON.parse(body || 'null'), ...location })))
})
req.on('error', (error) => console.log(JSON.stringify({ error: error.code })))
req.end(method === 'POST' ? JSON.stringify({ challenge }) : undefined)
`,
        { mode: 0o644 },
      )
      // The way to the socket is open to everyone but its own directory: the agent must close that.
      chmodSync(work, 0o755)
      socketPath = join(work, 'nurse.jones', 'agent.sock')
      r = await start('nurse.jones', 'identity-agent', 0, socketPath)
      port = Number(new URL(r.api.origin).port)
      await r.person.until(() => r.person.asked.includes('passcode'), 'the agent asks the passcode')
      r.person.answer(passcode)
      await r.person.until(() => r.agent.status().signed_in, 'the worker signs in at the agent')
    })
    after(() => {
      if (callerDir !== undefined) rmSync(callerDir, { recursive: true, force: true })
    })

    it('refuses a process of another user on loopback, with the right Origin and Host: 403 wrong_user, no ticket, no status', { skip: onLinuxAsRoot }, async () => {
      const ticketCall = { method: 'POST', path: '/ticket?noauth=1', headers: { ...fromPage(), 'content-type': 'application/json' } }
      assert.deepEqual(await call(ticketCall, nobody), { status: 403, cors: null, body: { error: 'wrong_user' } })
      assert.deepEqual(await call({ path: '/status', headers: fromPage() }, nobody), { status: 403, cors: null, body: { error: 'wrong_user' } })
      assert.deepEqual(await call({ method: 'OPTIONS', path: '/ticket', headers: { ...fromPage(), 'access-control-request-method': 'POST' } }, nobody), { status: 403, cors: null, body: { error: 'wrong_user' } })
      // A handoff is a navigation (no Origin): another user's browser gets no ticket either.
      assert.deepEqual(await call({ path: handoffPath, headers: { host: `127.0.0.1:${port}` } }, nobody), { status: 403, cors: null, body: { error: 'wrong_user' } })

      // The same request from the worker's own process still gets its ticket.
      const mine = await call(ticketCall)
      assert.equal(mine.status, 200)
      assert.equal(mine.cors, careid.origin)
      assert.equal(typeof (mine.body as { ticket?: unknown }).ticket, 'string')
    })

    it('answers a handoff (a navigation, no Origin) with a 302 to the provider\'s return URL for that journey, carrying a ticket', async () => {
      const answer = await call({ path: handoffPath, headers: { host: `127.0.0.1:${port}` } })
      assert.equal(answer.status, 302)
      assert.equal(answer.cors, null)
      const back = new URL(answer.location as string)
      assert.equal(`${back.origin}${back.pathname}`, `${careid.issuer}/interaction/${interaction}/smartcard/return`)
      assert.deepEqual([...back.searchParams.keys()], ['ticket'])
      const ticket = JSON.parse(back.searchParams.get('ticket') as string) as { payload: string; signatures: unknown[] }
      assert.equal(ticket.signatures.length, 2, 'signed by the card and by the agent')
      const claims = JSON.parse(Buffer.from(ticket.payload, 'base64url').toString('utf8')) as { challenge: string; aud: string; purpose: string }
      assert.deepEqual([claims.challenge, claims.aud, claims.purpose], [challenge, careid.issuer, 'ticket'])
      // The provider's own pages may navigate here too; any other Origin (a script elsewhere) may not.
      assert.equal((await call({ path: handoffPath, headers: fromPage() })).status, 302)
      assert.deepEqual(await call({ path: handoffPath, headers: { ...fromPage(), origin: 'http://evil.example' } }), { status: 403, cors: null, body: { error: 'wrong_origin' } })
    })

    it('builds the handoff\'s return URL from its configuration alone: nothing in the request chooses where the browser goes', async () => {
      for (const path of [
        `/handoff?challenge=${challenge}&interaction=${encodeURIComponent('https://evil.example/x')}`,
        `/handoff?challenge=${challenge}&interaction=${encodeURIComponent('../../../evil')}`,
        `/handoff?challenge=${challenge}&interaction=short`,
        `/handoff?challenge=short&interaction=${interaction}`,
        `/handoff?interaction=${interaction}`,
      ]) {
        assert.deepEqual(await call({ path, headers: { host: `127.0.0.1:${port}` } }), { status: 400, cors: null, body: { error: 'invalid_request' } }, path)
      }
      const answer = await call({ path: `${handoffPath}&return_to=${encodeURIComponent('https://evil.example/')}&redirect_uri=${encodeURIComponent('https://evil.example/')}`, headers: { host: `127.0.0.1:${port}` } })
      assert.equal(answer.status, 302)
      assert.ok(answer.location?.startsWith(`${careid.issuer}/interaction/${interaction}/smartcard/return?ticket=`), answer.location)
    })

    it('serves a native application of the same user on its Unix socket, without an Origin', async () => {
      assert.equal(statSync(socketPath).mode & 0o777, 0o600, 'the socket is its owner\'s alone')
      assert.equal(statSync(dirname(socketPath)).mode & 0o777, 0o700, 'in a directory only its owner can enter')
      const issued = await call({ method: 'POST', path: '/ticket?noauth=1', headers: { 'content-type': 'application/json' }, unix: true })
      assert.equal(issued.status, 200)
      assert.equal(issued.cors, null, 'no CORS headers: no page can reach this socket')
      assert.equal(typeof (issued.body as { ticket?: unknown }).ticket, 'string')
      const status = await call({ path: '/status', unix: true })
      assert.equal(status.status, 200)
      assert.equal((status.body as { signed_in: boolean }).signed_in, true)
    })

    it('cannot be opened on its Unix socket by another user', { skip: onLinuxAsRoot }, async () => {
      assert.deepEqual(await call({ method: 'POST', path: '/ticket?noauth=1', headers: { 'content-type': 'application/json' }, unix: true }, nobody), { error: 'EACCES' })
    })

    it('does not take over the socket of an agent still running, and replaces one left by an agent that died', async () => {
      await assert.rejects(startLocalApi({ agent: r.agent, providerOrigin: careid.origin, port: 0, socketPath }), { message: `another agent is answering on ${socketPath}` })
      assert.equal((await call({ path: '/status', unix: true })).status, 200, 'the running agent still answers')

      const deadPath = join(work, 'died', 'agent.sock')
      mkdirSync(dirname(deadPath))
      const died = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(deadPath)}, () => console.log('listening'))`])
      await once(died.stdout, 'data')
      died.kill('SIGKILL')
      await once(died, 'close')
      assert.ok(statSync(deadPath).isSocket(), 'the dead agent left its socket behind')
      const api = await startLocalApi({ agent: r.agent, providerOrigin: careid.origin, port: 0, socketPath: deadPath })
      try {
        const status = await call({ path: '/status', unix: true, socketPath: deadPath })
        assert.equal(status.status, 200)
      } finally {
        await api.close()
      }
    })

    it('answers /status only to the provider origin: any other Origin, or none, is 403 wrong_origin without CORS headers', async () => {
      for (const origin of ['http://evil.example', 'null', careid.origin.replace('localhost', '127.0.0.1')]) {
        assert.deepEqual(await call({ path: '/status', headers: { ...fromPage(), origin } }), { status: 403, cors: null, body: { error: 'wrong_origin' } }, origin)
      }
      assert.deepEqual(await call({ path: '/status', headers: { host: `127.0.0.1:${port}` } }), { status: 403, cors: null, body: { error: 'wrong_origin' } })
    })

    it('answers only a Host of 127.0.0.1 or localhost on its port, on every route (DNS rebinding): 403 wrong_host without CORS headers', async () => {
      for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, '127.0.0.1', `localhost:${port + 1}`]) {
        const refused = { status: 403, cors: null, body: { error: 'wrong_host' } }
        assert.deepEqual(await call({ path: '/status', headers: { origin: careid.origin, host } }), refused, host)
        assert.deepEqual(await call({ method: 'POST', path: '/ticket?noauth=1', headers: { origin: careid.origin, host, 'content-type': 'application/json' } }), refused, host)
        assert.deepEqual(await call({ method: 'OPTIONS', path: '/ticket', headers: { origin: careid.origin, host, 'access-control-request-method': 'POST' } }), refused, host)
        assert.deepEqual(await call({ path: '/elsewhere', headers: { origin: careid.origin, host } }), refused, host)
        assert.deepEqual(await call({ path: handoffPath, headers: { host } }), refused, host)
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
        const answered = await call({ path: '/status', headers: { origin: careid.origin, host } })
        assert.equal(answered.status, 200, host)
        assert.equal(answered.cors, careid.origin)
        assert.equal((answered.body as { signed_in: boolean }).signed_in, true)
      }
    })
  })

  describe('in Smartcard Connect mode', () => {
    let r: Running

    before(async () => {
      r = await start('midwife.taylor', 'smartcard-connect', agentPort)
      await r.person.until(() => r.agent.status().card.present, 'the card is seen')
    })

    it('asks the passcode for every sign-in (CIS2_SMARTCARD), refuses it where only N3_SMARTCARD is accepted, and removal ends nothing', async () => {
      assert.equal(r.person.asked.length, 0, 'nothing asked at insertion')
      const noauth = await ticket(r, 'c'.repeat(43), { noauth: true })
      assert.equal(noauth.status, 404)
      assert.deepEqual(await noauth.json(), { error: 'no_session' })

      // Two applications in two browsers (one browser would have a CIS2 session by the second).
      const browsers = [new Browser(careid.origin), new Browser(careid.origin)]
      for (let round = 1; round <= 2; round++) {
        const browser = browsers[round - 1] as Browser
        const page = await smartcardPage(browser, round === 1 ? 'AAL3_CIS2_SMARTCARD' : 'AAL3_SMARTCARD')
        r.person.answer(passcode)
        const response = await ticket(r, challengeOf(page))
        assert.equal(response.status, 200)
        assert.equal(r.person.asked.filter((a) => a === 'passcode').length, round, 'the passcode is asked each time')
        const { ticket: value } = (await response.json()) as { ticket: string }
        const f = form(page, '/authenticate')
        const landing = await browser.go(f.action, { form: { ...f.fields, ticket: value } })
        const tokens = await redeem(rp, landing.location)
        assert.deepEqual(tokens.id.amr, ['CIS2_SMARTCARD'])
        assert.equal(tokens.id.acr, round === 1 ? 'AAL3_CIS2_SMARTCARD' : 'AAL3_SMARTCARD')
      }

      // An application that accepts only the Identity Agent's smartcard: a Connect sign-in is not enough.
      const strictBrowser = new Browser(careid.origin)
      const strict = await smartcardPage(strictBrowser, 'AAL3_N3_SMARTCARD')
      r.person.answer(passcode)
      const { ticket: connect } = (await (await ticket(r, challengeOf(strict))).json()) as { ticket: string }
      const strictForm = form(strict, '/authenticate')
      const refused = await strictBrowser.go(strictForm.action, { form: { ...strictForm.fields, ticket: connect } })
      assert.equal(refused.page?.status, 400)
      assert.match(refused.page?.html ?? '', /The way your smartcard signed in is not one/)

      // Removing the card logs nobody out (cis2.md 4): the browser's session still answers prompt=none.
      rmSync(r.cardPath)
      await r.person.until(() => r.person.said.includes('Card removed.'), 'the agent notices the removal')
      const silent = await (browsers[0] as Browser).go(authorizeUrl(rp, { scope: 'openid', state: 's2', acr_values: 'AAL3_SMARTCARD', prompt: 'none' }))
      assert.ok(silent.location?.includes('code='), `still signed in: ${silent.location}`)
    })
  })

  describe('with wrong passcodes', () => {
    it('tells the person how many tries are left, and that the card locked at the third wrong one, which the provider recorded then', async () => {
      const r = await start('pharm.singh', 'identity-agent')
      for (let i = 1; i <= 3; i++) {
        await r.person.until(() => r.person.asked.filter((q) => q === 'passcode').length === i, `the agent asks the passcode (try ${i})`)
        if (i === 3) r.person.answer('9999999')
        else r.person.answer('0000000')
      }
      await r.person.until(() => r.person.said.some((line) => line.startsWith('The card is locked')), 'the agent says the card locked')
      const wrong = r.person.said.filter((line) => line.startsWith('Wrong passcode') || line.startsWith('The card is locked'))
      assert.deepEqual(wrong, ['Wrong passcode. 2 attempts left before the card locks.', 'Wrong passcode. 1 attempt left before the card locks.', 'The card is locked. Ask your Registration Authority to unlock it.'])
      const present = r.agent.status().card
      assert.ok(present.present)
      const card = await careid.context.store.cards.get(present.serial)
      assert.equal(card?.failed_attempts, 3)
      assert.equal(typeof card?.locked_at, 'number')
      assert.equal(r.agent.status().signed_in, false)
    })
  })
})
