/**
 * The Identity Agent protocol against abuse, at the provider's `{issuer}/agent/...` endpoints and
 * in the smartcard sign-in step: each refusal has its exact `error` and status and opens nothing.
 * Cards are issued by the deployment's real card authority; the test holds their keys.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { openContext } from '../../packages/cli/src/context.ts'
import { seedDemoWorkforce } from '../../packages/cli/src/seed.ts'
import { resolveSettings } from '../../packages/cli/src/settings.ts'
import { Browser, form, type PageResult } from '../support/browser.ts'
import { choosing } from '../support/journey.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { expectJsonError } from '../support/refusals.ts'
import { addRp, authorizeUrl, redeem, type TestRp } from '../support/rp.ts'
import {
  agentProof,
  agentUrl,
  cardAssertion,
  challenge,
  createAgentKey,
  identityAgentTicket,
  issueTestCard,
  issueTestVirtualCard,
  openCardSession,
  openedVirtualCard,
  passcodeAttempt,
  postJson,
  type TestCard,
} from '../support/smartcard.ts'
import { person as byName } from '../support/demo_people.ts'

const dayMs = 24 * 60 * 60_000

describe('the Identity Agent protocol refuses abuse', () => {
  let careid: TestCareid
  let rp: TestRp

  before(async () => {
    careid = await startTestCareid()
    rp = await addRp(careid)
  })
  after(async () => {
    await careid?.close()
  })

  async function issued(card: TestCard): Promise<{ challenge: string; attempts_left?: number }> {
    const response = await challenge(careid, card.record.serial)
    assert.equal(response.status, 200)
    return (await response.json()) as { challenge: string; attempts_left?: number }
  }

  async function openSession(assertion: string, agentJwk: unknown) {
    return postJson(agentUrl(careid, '/agent/session'), { assertion, agent_key: agentJwk })
  }

  it('opens a card session for a card signature over a fresh challenge (asking for the challenge counted nothing)', async () => {
    const person = byName('dr.patel')
    const card = await issueTestCard(careid, person.uid)
    const agent = await createAgentKey()
    const first = await issued(card)
    assert.equal(first.attempts_left, undefined, 'a card without a provider passcode check: its chip counts')
    assert.equal((await careid.context.store.cards.get(card.record.serial))?.failed_attempts, 0)
    const response = await openSession(await cardAssertion(careid, card, first.challenge, agent), agent.publicJwk)
    const body = (await response.json()) as { uid: string; roles: Array<{ person_roleid: string }>; card_session_secret: string; selected_roleid?: string }
    assert.equal(response.status, 200, JSON.stringify(body))
    assert.equal(body.uid, person.uid)
    assert.deepEqual(body.roles.map((r) => r.person_roleid).sort(), person.positions.map((p) => p.person_roleid).sort())
    assert.equal(body.selected_roleid, undefined, 'three roles: the person chooses at the agent')
    assert.equal((await careid.context.store.cards.get(card.record.serial))?.failed_attempts, 0)
  })

  it('refuses a replayed card signature (the challenge is single use)', async () => {
    const card = await issueTestCard(careid, byName('nurse.jones').uid)
    const agent = await createAgentKey()
    const { challenge: value } = await issued(card)
    const assertion = await cardAssertion(careid, card, value, agent)
    assert.equal((await openSession(assertion, agent.publicJwk)).status, 200)
    await expectJsonError(await openSession(assertion, agent.publicJwk), { status: 401, error: 'invalid_challenge' })
    // Replayed by another agent (with its own key in the request): refused before the challenge.
    const other = await createAgentKey()
    await expectJsonError(await openSession(assertion, other.publicJwk), { status: 401, error: 'invalid_assertion' })
  })

  it('refuses an expired challenge, and an assertion past its own exp', async () => {
    const card = await issueTestCard(careid, byName('agency.clark').uid)
    const agent = await createAgentKey()
    const { challenge: value } = await issued(card)
    // 60 seconds pass: the stored challenge's expiry is moved into the past (the record itself lives on).
    const id = `agent-challenge:${createHash('sha256').update(value).digest('base64url')}`
    const record = await careid.context.store.interactions.get(id, Date.now())
    assert.ok(record)
    await careid.context.store.interactions.put({ ...record, payload: { ...record.payload, exp: Date.now() - 1 } })
    await expectJsonError(await openSession(await cardAssertion(careid, card, value, agent), agent.publicJwk), { status: 401, error: 'challenge_expired' })

    const next = await issued(card)
    const past = Math.floor(Date.now() / 1000) - 120
    const stale = await cardAssertion(careid, card, next.challenge, agent, { iat: past, exp: past + 60 })
    await expectJsonError(await openSession(stale, agent.publicJwk), { status: 401, error: 'invalid_assertion' })
  })

  it("refuses one card's signature over another card's challenge, and a wrong audience", async () => {
    const a = await issueTestCard(careid, byName('midwife.taylor').uid)
    const b = await issueTestCard(careid, byName('dentist.walker').uid)
    const agent = await createAgentKey()
    const forA = await issued(a)
    await expectJsonError(await openSession(await cardAssertion(careid, b, forA.challenge, agent), agent.publicJwk), { status: 401, error: 'invalid_challenge' })
    const forB = await issued(b)
    await expectJsonError(await openSession(await cardAssertion(careid, b, forB.challenge, agent, { aud: 'https://elsewhere.example' }), agent.publicJwk), {
      status: 401,
      error: 'invalid_assertion',
    })
  })

  it('refuses a revoked card: no challenge, and no session from a challenge issued before', async () => {
    const card = await issueTestCard(careid, byName('reception.brown').uid)
    const agent = await createAgentKey()
    const before = await issued(card)
    assert.ok(await careid.context.store.cards.revoke(card.record.serial, Date.now()))
    await expectJsonError(await challenge(careid, card.record.serial), { status: 403, error: 'card_revoked' })
    await expectJsonError(await openSession(await cardAssertion(careid, card, before.challenge, agent), agent.publicJwk), { status: 403, error: 'card_revoked' })
  })

  it('leaves a card unlocked and usable after any number of unauthenticated challenges for its serial', async () => {
    const person = byName('ra.whitfield')
    const { file, record } = await issueTestVirtualCard(careid, person.uid, '592037')
    for (let i = 0; i < 5; i++) {
      const response = await challenge(careid, record.serial)
      assert.equal(response.status, 200)
      assert.equal(((await response.json()) as { attempts_left: number }).attempts_left, 3)
    }
    const stored = await careid.context.store.cards.get(record.serial)
    assert.equal(stored?.failed_attempts, 0)
    assert.equal(stored?.locked_at, undefined)
    // The holder opens the card (the provider releases its share) and a card session.
    const { response, challenge: value } = await passcodeAttempt(careid, file, '592037')
    assert.equal(response.status, 200)
    const { share } = (await response.json()) as { share: string }
    const card = await openedVirtualCard(file, record, '592037', share)
    const agent = await createAgentKey()
    const opened = await openSession(await cardAssertion(careid, card, value, agent), agent.publicJwk)
    assert.equal(opened.status, 200, await opened.clone().text())
  })

  it('counts nothing for a passcode attempt made without the card file, and takes one attempt per challenge', async () => {
    const { file, record } = await issueTestVirtualCard(careid, byName('nurse.jones').uid, '718293')
    const issuedNow = async () => ((await (await challenge(careid, record.serial)).json()) as { challenge: string }).challenge
    for (let i = 0; i < 4; i++) {
      const forged = { serial: record.serial, challenge: await issuedNow(), card_proof: 'A'.repeat(43), passcode_proof: 'B'.repeat(43) }
      await expectJsonError(await postJson(agentUrl(careid, '/agent/passcode'), forged), { status: 401, error: 'invalid_card_proof' })
    }
    assert.equal((await careid.context.store.cards.get(record.serial))?.failed_attempts, 0)
    // A proof is good once: replayed over the same challenge it is refused, uncounted.
    const first = await passcodeAttempt(careid, file, '000000')
    await expectJsonError(first.response, { status: 401, error: 'wrong_passcode' })
    const again = await passcodeAttempt(careid, file, '718293', first.challenge)
    await expectJsonError(again.response, { status: 401, error: 'invalid_challenge' })
    assert.equal((await careid.context.store.cards.get(record.serial))?.failed_attempts, 1)
    // Malformed requests and unknown cards, precisely.
    await expectJsonError(await postJson(agentUrl(careid, '/agent/passcode'), { serial: record.serial }), { status: 400, error: 'invalid_request' })
    const value = await issuedNow()
    const proofs = { challenge: value, card_proof: 'A'.repeat(43), passcode_proof: 'B'.repeat(43) }
    await expectJsonError(await postJson(agentUrl(careid, '/agent/passcode'), { serial: 'abcdef0123456789', ...proofs }), { status: 403, error: 'unknown_card' })
    await expectJsonError(await postJson(agentUrl(careid, '/agent/passcode'), { serial: record.serial, ...proofs, challenge: 'not-issued' }), { status: 401, error: 'invalid_challenge' })
    // A card without a provider passcode check (a token checks its own PIN).
    const token = await issueTestCard(careid, byName('reception.brown').uid)
    const tokenChallenge = ((await (await challenge(careid, token.record.serial)).json()) as { challenge: string }).challenge
    await expectJsonError(await postJson(agentUrl(careid, '/agent/passcode'), { serial: token.record.serial, ...proofs, challenge: tokenChallenge }), { status: 400, error: 'not_a_virtual_card' })
    assert.equal((await careid.context.store.cards.get(token.record.serial))?.failed_attempts, 0)
  })

  it('locks a card at the third wrong passcode, recording when; then it gets no challenge and no share', async () => {
    const { file, record } = await issueTestVirtualCard(careid, byName('dentist.walker').uid, '263748')
    const left = []
    for (let i = 0; i < 2; i++) {
      const body = (await expectJsonError((await passcodeAttempt(careid, file, '111111')).response, { status: 401, error: 'wrong_passcode' })) as { attempts_left?: number }
      left.push(body.attempts_left)
    }
    assert.deepEqual(left, [2, 1])
    // The right passcode in between: the count starts again.
    assert.equal((await passcodeAttempt(careid, file, '263748')).response.status, 200)
    assert.equal((await careid.context.store.cards.get(record.serial))?.failed_attempts, 0)
    const pending = ((await (await challenge(careid, record.serial)).json()) as { challenge: string }).challenge
    for (let i = 0; i < 2; i++) await expectJsonError((await passcodeAttempt(careid, file, '111111')).response, { status: 401, error: 'wrong_passcode' })
    const before = Date.now()
    await expectJsonError((await passcodeAttempt(careid, file, '111111')).response, { status: 403, error: 'card_locked' })
    const stored = await careid.context.store.cards.get(record.serial)
    assert.equal(stored?.failed_attempts, 3)
    assert.ok(stored?.locked_at !== undefined && stored.locked_at >= before && stored.locked_at <= Date.now(), 'locked at the third wrong passcode')
    const [event] = await careid.context.store.audit.recent(1)
    assert.deepStrictEqual({ type: event?.type, subject: event?.subject, detail: event?.detail }, { type: 'card.locked', subject: record.uid, detail: { serial: record.serial, by: 'passcode' } })
    await expectJsonError(await challenge(careid, record.serial), { status: 403, error: 'card_locked' })
    // Even the right passcode, over a challenge issued before the lock, gets no share.
    await expectJsonError((await passcodeAttempt(careid, file, '263748', pending)).response, { status: 403, error: 'card_locked' })
  })

  it('refuses an unknown card and malformed requests, precisely', async () => {
    await expectJsonError(await challenge(careid, 'abcdef0123456789'), { status: 403, error: 'unknown_card' })
    await expectJsonError(await postJson(agentUrl(careid, '/agent/challenge'), {}), { status: 400, error: 'invalid_request' })
    await expectJsonError(await challenge(careid, 'NOT-HEX'), { status: 400, error: 'invalid_request' })
    const agent = await createAgentKey()
    await expectJsonError(await postJson(agentUrl(careid, '/agent/session'), { assertion: 'a.b.c' }), { status: 400, error: 'invalid_request' })
    await expectJsonError(await postJson(agentUrl(careid, '/agent/session'), { assertion: 'a.b.c', agent_key: agent.publicJwk }), { status: 401, error: 'invalid_assertion' })
    await expectJsonError(await postJson(agentUrl(careid, '/agent/session'), { assertion: 'x', agent_key: { ...agent.publicJwk, d: 'secret' } }), { status: 400, error: 'invalid_request' })
    const bad = await fetch(agentUrl(careid, '/agent/challenge'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' })
    await expectJsonError(bad, { status: 400, error: 'invalid_request' })
  })

  it('refuses a second agent presenting the same card session', async () => {
    const person = byName('locum.okafor')
    const card = await issueTestCard(careid, person.uid)
    const agent = await createAgentKey()
    const opened = await openCardSession(careid, card, agent)
    const secret = opened.card_session_secret
    const role = person.positions[2]?.person_roleid as string
    const rolePath = '/agent/session/role'
    const thief = await createAgentKey()
    const call = (path: string, headers: Record<string, string>, body: unknown = { person_roleid: role }) => postJson(agentUrl(careid, path), body, headers)

    // The copied secret with the other agent's own proof, with no proof, or with a wrong secret.
    await expectJsonError(await call(rolePath, { authorization: `Bearer ${secret}`, 'agent-proof': await agentProof(careid, thief, rolePath) }), { status: 401, error: 'invalid_agent_proof', secrets: [secret] })
    await expectJsonError(await call(rolePath, { authorization: `Bearer ${secret}` }), { status: 401, error: 'invalid_agent_proof' })
    await expectJsonError(await call(rolePath, { authorization: `Bearer ${'x'.repeat(43)}`, 'agent-proof': await agentProof(careid, agent, rolePath) }), { status: 401, error: 'invalid_card_session' })
    // The real agent's proof made for another endpoint, or replayed.
    await expectJsonError(await call('/agent/session/end', { authorization: `Bearer ${secret}`, 'agent-proof': await agentProof(careid, agent, rolePath) }), { status: 401, error: 'invalid_agent_proof' })
    const proof = await agentProof(careid, agent, rolePath)
    const ok = await call(rolePath, { authorization: `Bearer ${secret}`, 'agent-proof': proof })
    assert.equal(ok.status, 200, await ok.clone().text())
    assert.deepEqual(await ok.json(), { selected_roleid: role })
    await expectJsonError(await call(rolePath, { authorization: `Bearer ${secret}`, 'agent-proof': proof }), { status: 401, error: 'invalid_agent_proof' })
    // A role is chosen once per card session (a change needs the card removed), and only a role the person holds.
    await expectJsonError(await call(rolePath, { authorization: `Bearer ${secret}`, 'agent-proof': await agentProof(careid, agent, rolePath) }), { status: 409, error: 'role_already_selected' })

    // In the browser journey: a ticket the card signed but another agent key co-signed is refused.
    const browser = new Browser(careid.origin)
    const page = await smartcardPage(browser)
    const forged = await identityAgentTicket(careid, card, thief, opened.card_session, pageChallenge(page))
    const refused = await postTicket(browser, page, forged)
    assert.equal(refused.page?.status, 400)
    assert.match(refused.page?.html ?? '', /Your smartcard sign-in could not be checked/)
  })

  it('refuses a role the card holder does not hold', async () => {
    const card = await issueTestCard(careid, byName('new.starter').uid)
    const agent = await createAgentKey()
    const opened = await openCardSession(careid, card, agent)
    const path = '/agent/session/role'
    await expectJsonError(
      await postJson(agentUrl(careid, path), { person_roleid: byName('dr.patel').positions[0]?.person_roleid }, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) }),
      { status: 400, error: 'unknown_role' },
    )
  })

  async function smartcardPage(browser: Browser): Promise<PageResult> {
    const landing = await choosing(browser, await browser.go(authorizeUrl(rp, { scope: 'openid', state: 's', nonce: 'n', acr_values: 'AAL3_ANY' })), 'smartcard')
    assert.ok(landing.page, `expected the smartcard page, got a redirect to ${landing.location}`)
    assert.match(landing.page.html, /Sign in with your smartcard/)
    return landing.page
  }

  function pageChallenge(page: PageResult): string {
    const value = /data-challenge="([^"]+)"/.exec(page.html)?.[1]
    assert.ok(value)
    return value
  }

  function postTicket(browser: Browser, page: PageResult, ticket: string) {
    const f = form(page, '/authenticate')
    return browser.go(f.action, { form: { ...f.fields, ticket } })
  }

  it('signs in with a ticket (N3_SMARTCARD, the agent role) and refuses the same ticket again', async () => {
    const person = byName('pharm.singh')
    const card = await issueTestCard(careid, person.uid)
    const agent = await createAgentKey()
    const opened = await openCardSession(careid, card, agent)
    assert.equal(opened.selected_roleid, undefined)
    const role = person.positions[1]?.person_roleid as string
    const path = '/agent/session/role'
    assert.equal((await postJson(agentUrl(careid, path), { person_roleid: role }, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })).status, 200)

    const browser = new Browser(careid.origin)
    const page = await smartcardPage(browser)
    assert.match(page.headers.get('content-security-policy') ?? '', /connect-src 'self' http:\/\/127\.0\.0\.1:4445;/)
    const ticket = await identityAgentTicket(careid, card, agent, opened.card_session, pageChallenge(page))
    const landing = await postTicket(browser, page, ticket)
    const tokens = await redeem(rp, landing.location)
    assert.deepEqual(tokens.id.amr, ['N3_SMARTCARD'])
    assert.equal(tokens.id.acr, 'AAL3_ANY')
    assert.equal(tokens.id.authentication_assurance_level, '3')

    // The same ticket in another sign-in: its challenge is not that sign-in's.
    const other = new Browser(careid.origin)
    const second = await smartcardPage(other)
    const replay = await postTicket(other, second, ticket)
    assert.equal(replay.page?.status, 400)
    assert.match(replay.page?.html ?? '', /Your smartcard sign-in could not be checked/)

    // After the card is revoked, the card session gives no more sign-ins.
    await careid.context.store.cards.revoke(card.record.serial, Date.now())
    const third = await smartcardPage(other)
    const revoked = await postTicket(other, third, await identityAgentTicket(careid, card, agent, opened.card_session, pageChallenge(third)))
    assert.equal(revoked.page?.status, 400)
    assert.match(revoked.page?.html ?? '', /Your smartcard cannot be used/)
  })
})

describe('a card whose certificate has expired', () => {
  let careid: TestCareid | undefined
  after(async () => {
    await careid?.close()
  })

  it('is refused with card_expired (its registry entry is still active, so a challenge is given)', async () => {
    // A deployment whose card authority was made 800 days ago, when the card was issued.
    const dataDir = mkdtempSync(join(tmpdir(), 'careid-test-'))
    const past = Date.now() - 800 * dayMs
    const context = await openContext(resolveSettings({ dataDir, logLevel: 'silent' }, { CAREID_KEY_ENCRYPTION_KEY: undefined }))
    let card: TestCard
    try {
      await seedDemoWorkforce(context)
      card = await issueTestCard({ context }, byName('dr.hughes').uid, past, past - 1000)
    } finally {
      await context.close()
    }
    careid = await startTestCareid({ dataDir })
    const agent = await createAgentKey()
    const response = await challenge(careid, card.record.serial)
    assert.equal(response.status, 200)
    const { challenge: value } = (await response.json()) as { challenge: string }
    const opened = await postJson(agentUrl(careid, '/agent/session'), { assertion: await cardAssertion(careid, card, value, agent), agent_key: agent.publicJwk })
    await expectJsonError(opened, { status: 403, error: 'card_expired' })
  })
})

describe("removing a card where the organisation's policy is to lock", () => {
  let careid: TestCareid
  before(async () => {
    // The test plays the agent's part on the smartcard page (it makes the tickets): no agent is
    // there to answer a handoff, which a browser whose ticket worked would otherwise be sent to.
    careid = await startTestCareid({ config: { agentHandoff: 'never' } })
  })
  after(async () => {
    await careid?.close()
  })

  it('locks the sign-ins instead of ending them; the card and passcode unlock the same session', async () => {
    const person = byName('midwife.taylor')
    const role = person.positions.find((p) => p.org_code === 'RJ1')?.person_roleid as string
    assert.ok(role, 'midwife.taylor works at RJ1, whose policy is lock')
    const redirect_uri = 'https://rp.example.test/callback'
    const registered = await careid.addClient({ redirect_uris: [redirect_uri], backchannel_logout_uri: 'https://rp.example.test/backchannel', token_endpoint_auth_method: 'client_secret_post' })
    const rp: TestRp = { careid, client_id: registered.client_id, client_secret: registered.client_secret as string, redirect_uri }
    const card = await issueTestCard(careid, person.uid)
    const agent = await createAgentKey()
    const browser = new Browser(careid.origin)

    async function cardSessionWithRole() {
      const opened = await openCardSession(careid, card, agent)
      const path = '/agent/session/role'
      const chosen = await postJson(agentUrl(careid, path), { person_roleid: role }, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })
      assert.equal(chosen.status, 200)
      return opened
    }
    async function signInWithTicket(cardSession: string) {
      const landing = await choosing(browser, await browser.go(authorizeUrl(rp, { scope: 'openid', state: 's', acr_values: 'AAL3_ANY' })), 'smartcard')
      const page = landing.page
      assert.ok(page, `expected the smartcard page, got ${landing.location}`)
      const value = /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string
      const f = form(page, '/authenticate')
      return redeem(rp, (await browser.go(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(careid, card, agent, cardSession, value) } })).location)
    }

    const first = await cardSessionWithRole()
    const before = await signInWithTicket(first.card_session)
    assert.equal(before.id.selected_roleid, role)
    const lockedSecret = browser.cookies.get('careid_session') as string

    // The card is removed: the agent ends its card session; the sign-in is locked, not ended.
    const path = '/agent/session/end'
    const ended = await postJson(agentUrl(careid, path), {}, { authorization: `Bearer ${first.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })
    assert.equal(ended.status, 200)
    assert.deepEqual(await ended.json(), { sessions_ended: 0, sessions_locked: 1 })
    assert.deepEqual(await careid.context.store.outbox.counts(), { pending: 0, delivered: 0, gave_up: 0 }, 'no relying party is logged out')
    const silent = await browser.go(authorizeUrl(rp, { scope: 'openid', state: 'quiet', acr_values: 'AAL3_ANY', prompt: 'none' }))
    assert.equal(new URL(silent.location ?? '').searchParams.get('error'), 'login_required', 'a locked session answers nothing')

    // The card is back, with its passcode: a new card session, and the same CIS2 session goes on.
    const second = await cardSessionWithRole()
    const after = await signInWithTicket(second.card_session)
    assert.equal(after.id.sid, before.id.sid, 'the same session (sid), unlocked')
    assert.deepEqual(after.id.amr, ['N3_SMARTCARD'])
    const again = await browser.go(authorizeUrl(rp, { scope: 'openid', state: 'quiet', acr_values: 'AAL3_ANY', prompt: 'none' }))
    assert.ok(new URL(again.location ?? '').searchParams.get('code'), 'it answers prompt=none again')
    // Unlocking is a new sign-in: a new cookie secret, and the one the locked session had is refused.
    assert.notEqual(browser.cookies.get('careid_session'), lockedSecret)
    const stale = new Browser(careid.origin)
    stale.cookies.set('careid_session', lockedSecret)
    const refused = await stale.go(authorizeUrl(rp, { scope: 'openid', state: 'stale', acr_values: 'AAL3_ANY', prompt: 'none' }))
    assert.equal(new URL(refused.location ?? '').searchParams.get('error'), 'login_required')
  })

  it('a locked session issues nothing at the token endpoint: its refresh token and a code issued before the lock get invalid_grant; unlocked, the refresh token works again', async () => {
    const person = byName('dr.hughes')
    const role = person.positions.find((p) => p.org_code === 'RJ1')?.person_roleid as string
    assert.ok(role, 'dr.hughes works at RJ1, whose policy is lock')
    const redirect_uri = 'https://rp.example.test/callback'
    const registered = await careid.addClient({ redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post', refresh_tokens: true })
    const rp: TestRp = { careid, client_id: registered.client_id, client_secret: registered.client_secret as string, redirect_uri }
    const card = await issueTestCard(careid, person.uid)
    const agent = await createAgentKey()
    const browser = new Browser(careid.origin)
    const tokenEndpoint = `${careid.issuer}/access_token`
    const tokenRequest = (params: Record<string, string>) =>
      fetch(tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: rp.client_id, client_secret: rp.client_secret, ...params }).toString(),
      })
    const refresh = (refresh_token: string) => tokenRequest({ grant_type: 'refresh_token', refresh_token })
    async function openWithRole() {
      const opened = await openCardSession(careid, card, agent)
      const path = '/agent/session/role'
      const chosen = await postJson(agentUrl(careid, path), { person_roleid: role }, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })
      assert.equal(chosen.status, 200)
      return opened
    }
    async function codeWithTicket(cardSession: string, state: string) {
      const page = (await choosing(browser, await browser.go(authorizeUrl(rp, { scope: 'openid', state, acr_values: 'AAL3_ANY' })), 'smartcard')).page
      assert.ok(page, 'expected the smartcard page')
      const value = /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string
      const f = form(page, '/authenticate')
      return (await browser.go(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(careid, card, agent, cardSession, value) } })).location
    }

    const first = await openWithRole()
    const signedIn = await redeem(rp, await codeWithTicket(first.card_session, 'first'))
    const refreshToken = signedIn.body.refresh_token as string
    assert.equal(typeof refreshToken, 'string')
    // A code is issued (SSO, no page) and not yet redeemed when the card is removed.
    const pending = new URL((await browser.go(authorizeUrl(rp, { scope: 'openid', state: 'pending', acr_values: 'AAL3_ANY' }))).location ?? '').searchParams.get('code')
    assert.ok(pending, 'a code was issued before the lock')

    const path = '/agent/session/end'
    const ended = await postJson(agentUrl(careid, path), {}, { authorization: `Bearer ${first.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })
    assert.deepEqual(await ended.json(), { sessions_ended: 0, sessions_locked: 1 })

    await expectJsonError(await refresh(refreshToken), { status: 400, error: 'invalid_grant' })
    await expectJsonError(await tokenRequest({ grant_type: 'authorization_code', code: pending, redirect_uri }), { status: 400, error: 'invalid_grant' })

    // The card and passcode unlock the same session: the refresh token the lock held back works again.
    const second = await openWithRole()
    const unlocked = await redeem(rp, await codeWithTicket(second.card_session, 'again'))
    assert.equal(unlocked.id.sid, signedIn.id.sid)
    const refreshed = await refresh(refreshToken)
    assert.equal(refreshed.status, 200)
    const body = (await refreshed.json()) as Record<string, unknown>
    assert.equal(typeof body.access_token, 'string')
  })
})

describe('the sign-in page challenge', () => {
  let careid: TestCareid
  before(async () => {
    careid = await startTestCareid()
  })
  after(async () => {
    await careid?.close()
  })

  it('expires after 60 seconds: a ticket for it is refused and the page gets a fresh challenge', async () => {
    const rp = await addRp(careid)
    const card = await issueTestCard(careid, byName('dr.hughes').uid)
    const agent = await createAgentKey()
    const opened = await openCardSession(careid, card, agent)
    const browser = new Browser(careid.origin)
    const landing = await choosing(browser, await browser.go(authorizeUrl(rp, { scope: 'openid', state: 's', acr_values: 'AAL3_ANY' })), 'smartcard')
    const page = landing.page
    assert.ok(page)
    const value = /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string
    // 60 seconds pass: the challenge kept in the interaction is moved into the past.
    const id = /\/interaction\/([^/]+)/.exec(new URL(page.url).pathname)?.[1] as string
    const record = await careid.context.store.interactions.get(id, Date.now())
    assert.ok(record)
    const state = record.payload.auth_state as { challenge: string; exp: number }
    assert.equal(state.challenge, value)
    await careid.context.store.interactions.put({ ...record, payload: { ...record.payload, auth_state: { ...state, exp: Date.now() - 1 } } })
    const f = form(page, '/authenticate')
    const refused = await browser.go(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(careid, card, agent, opened.card_session, value) } })
    assert.equal(refused.location, undefined, 'no redirect to the application')
    assert.equal(refused.page?.status, 400)
    assert.match(refused.page?.html ?? '', /This sign-in took too long/)
    const fresh = /data-challenge="([^"]+)"/.exec(refused.page?.html ?? '')?.[1]
    assert.ok(fresh !== undefined && fresh !== value, 'a new challenge')
    // With the new challenge, the same card session signs in.
    const again = form(refused.page as PageResult, '/authenticate')
    const done = await browser.go(again.action, { form: { ...again.fields, ticket: await identityAgentTicket(careid, card, agent, opened.card_session, fresh) } })
    assert.deepEqual((await redeem(rp, done.location)).id.amr, ['N3_SMARTCARD'])
  })

  it('shows the smartcard page again, saying the mode is not accepted, for an Identity Agent sign-in where the application asks for Smartcard Connect, and signs no one in', async () => {
    const rp = await addRp(careid)
    const card = await issueTestCard(careid, byName('dentist.walker').uid)
    const agent = await createAgentKey()
    const opened = await openCardSession(careid, card, agent)
    const browser = new Browser(careid.origin)
    const landing = await browser.go(authorizeUrl(rp, { scope: 'openid', state: 's', acr_values: 'AAL3_CIS2_SMARTCARD' }))
    const page = landing.page
    assert.ok(page)
    const value = /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string
    const f = form(page, '/authenticate')
    const refused = await browser.fetch(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(careid, card, agent, opened.card_session, value) } })
    const html = await refused.text()
    assert.equal(refused.status, 400)
    assert.equal(refused.headers.get('location'), null, 'no redirect to the application')
    assert.deepEqual(refused.headers.getSetCookie(), [], 'no session cookie')
    assert.match(html, /The way your smartcard signed in is not one [^<]* accepts/)
    const fresh = /data-challenge="([^"]+)"/.exec(html)?.[1]
    assert.ok(fresh !== undefined && fresh !== value, 'a new challenge')
    // Shown again from the stored journey, the page still says so.
    const again = await browser.go(page.url)
    assert.equal(again.page?.status, 200)
    assert.match(again.page?.html ?? '', /The way your smartcard signed in is not one [^<]* accepts/)
  })

  it('lets the right passcode open the card on the third try (three wrong ones lock it, cis2.md 4)', async () => {
    const { file, record } = await issueTestVirtualCard(careid, byName('nurse.jones').uid, '40516273')
    for (let i = 0; i < 2; i++) await expectJsonError((await passcodeAttempt(careid, file, '40516274')).response, { status: 401, error: 'wrong_passcode' })
    const third = await passcodeAttempt(careid, file, '40516273')
    assert.equal(third.response.status, 200, await third.response.clone().text())
    const { share } = (await third.response.json()) as { share: string }
    assert.equal((await careid.context.store.cards.get(record.serial))?.failed_attempts, 0)
    const card = await openedVirtualCard(file, record, '40516273', share)
    const agent = await createAgentKey()
    const opened = await postJson(agentUrl(careid, '/agent/session'), { assertion: await cardAssertion(careid, card, third.challenge, agent), agent_key: agent.publicJwk })
    assert.equal(opened.status, 200, await opened.clone().text())
  })
})

describe('a sign-in journey left open while its session is locked or ends', () => {
  // The provider's clock runs `ahead` of the wall clock, so a test can let a session time out.
  const clock = { ahead: 0 }
  let careid: TestCareid
  let rp: TestRp
  const person = byName('midwife.taylor')
  const lockingRole = person.positions.find((p) => p.org_code === 'RJ1')?.person_roleid as string
  const otherRole = person.positions.find((p) => p.person_roleid !== lockingRole)?.person_roleid as string

  before(async () => {
    careid = await startTestCareid({ now: () => Date.now() + clock.ahead })
    rp = await addRp(careid)
    assert.ok(lockingRole && otherRole, 'midwife.taylor works at RJ1 (policy lock) and elsewhere')
  })
  after(async () => {
    await careid?.close()
  })

  const challengeOf = (page: PageResult) => /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string

  /** A card session at the agent with a role (by default the RJ1 one) chosen there. */
  async function cardSession(card: TestCard, agent: Awaited<ReturnType<typeof createAgentKey>>, role = lockingRole) {
    const opened = await openCardSession(careid, card, agent)
    const path = '/agent/session/role'
    const chosen = await postJson(agentUrl(careid, path), { person_roleid: role }, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })
    assert.equal(chosen.status, 200)
    return opened
  }

  /** The smartcard sign-in page of a new authorization, the ticket posted: where the browser lands. */
  async function signInWithCard(browser: Browser, card: TestCard, agent: Awaited<ReturnType<typeof createAgentKey>>, opened: { card_session: string }) {
    const landing = await choosing(browser, await browser.go(authorizeUrl(rp, { scope: 'openid', state: 's', acr_values: 'AAL3_ANY' })), 'smartcard')
    assert.ok(landing.page, `expected the smartcard page, got ${landing.location}`)
    const f = form(landing.page, '/authenticate')
    return redeem(rp, (await browser.go(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(careid, card, agent, opened.card_session, challengeOf(landing.page)) } })).location)
  }

  /** An application asking the signed-in worker to choose a role again: the role page. */
  async function rolePage(browser: Browser): Promise<PageResult> {
    const landing = await browser.go(authorizeUrl(rp, { scope: 'openid changedrole', state: 'role', acr_values: 'AAL3_ANY' }))
    assert.ok(landing.page, `expected the role page, got ${landing.location}`)
    assert.match(landing.page.html, /name="role"/)
    return landing.page
  }

  function postRole(browser: Browser, page: PageResult, role: string) {
    const f = form(page, '/role')
    return browser.go(f.action, { form: { ...f.fields, role } })
  }

  it('a role posted from a page opened before the card was removed (lock policy) gets no code: the journey goes back to the smartcard sign-in, where the card unlocks the session', async () => {
    const card = await issueTestCard(careid, person.uid)
    const agent = await createAgentKey()
    const browser = new Browser(careid.origin)
    const opened = await cardSession(card, agent)
    const first = await signInWithCard(browser, card, agent, opened)
    const sid = first.id.sid as string

    // The normal flow: the role page answers with a code.
    const chosen = await redeem(rp, (await postRole(browser, await rolePage(browser), otherRole)).location)
    assert.equal(chosen.id.sid, sid)
    assert.equal(chosen.id.selected_roleid, otherRole)

    // A role page is open; the card is removed and the session locked (RJ1's policy).
    const open = await rolePage(browser)
    const path = '/agent/session/end'
    const ended = await postJson(agentUrl(careid, path), {}, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })
    assert.deepEqual(await ended.json(), { sessions_ended: 0, sessions_locked: 1 })

    // Back to sign-in: AAL3_ANY offers every AAL3 method, and the worker chooses the smartcard.
    const posted = await choosing(browser, await postRole(browser, open, lockingRole), 'smartcard')
    assert.equal(posted.location, undefined, 'no redirect to the application, so no code')
    assert.equal(posted.page?.status, 200)
    assert.match(posted.page?.html ?? '', /Sign in with your smartcard/)
    const locked = await careid.context.store.sessions.getBySid(sid)
    assert.ok(locked?.binding?.startsWith('locked:'), 'still locked')

    // The card is back with its passcode: the same journey signs in, asks the role, and answers.
    const again = await cardSession(card, agent)
    const page = posted.page as PageResult
    const f = form(page, '/authenticate')
    const roles = await browser.go(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(careid, card, agent, again.card_session, challengeOf(page)) } })
    assert.ok(roles.page, `expected the role page, got ${roles.location}`)
    const done = await redeem(rp, (await postRole(browser, roles.page, lockingRole)).location)
    assert.equal(done.id.sid, sid, 'the same session, unlocked')
    assert.equal(done.id.selected_roleid, lockingRole)
  })

  it('a role posted after the session timed out gets no code: the session is ended and the journey goes back to the smartcard sign-in', async () => {
    const patel = byName('dr.patel')
    const [agentRole, pageRole] = patel.positions.map((p) => p.person_roleid)
    assert.ok(agentRole !== undefined && pageRole !== undefined)
    const card = await issueTestCard(careid, patel.uid)
    const agent = await createAgentKey()
    const browser = new Browser(careid.origin)
    const first = await signInWithCard(browser, card, agent, await cardSession(card, agent, agentRole))
    const sid = first.id.sid as string
    const open = await rolePage(browser)
    // Past AAL3's 15-minute idle limit; the sign-in journey (30 minutes) is still open.
    clock.ahead = 16 * 60_000
    try {
      // Back to sign-in: AAL3_ANY offers every AAL3 method, and the worker chooses the smartcard.
      const posted = await choosing(browser, await postRole(browser, open, pageRole), 'smartcard')
      assert.equal(posted.location, undefined, 'no redirect to the application, so no code')
      assert.equal(posted.page?.status, 200)
      assert.match(posted.page?.html ?? '', /Sign in with your smartcard/)
      assert.equal(await careid.context.store.sessions.getBySid(sid), undefined, 'the session was ended')
    } finally {
      clock.ahead = 0
    }
  })
})
