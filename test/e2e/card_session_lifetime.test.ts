/**
 * A browser session made with a smartcard through the Identity Agent never outlives its card
 * session: its limits are capped at the card session's end, it ends then (back-channel logout to
 * every relying party in it), and the agent's end call still ends what is left once the card
 * session has run out, for the agent that opened it only. The provider runs on a clock the tests
 * move on by hours; sessions are swept only when a test says so (`maintain()`), so what ended them
 * is known, while logout delivery runs as usual.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { Browser, form } from '../support/browser.ts'
import { choosing } from '../support/journey.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { expectJsonError } from '../support/refusals.ts'
import { addRp, authorizeUrl, redeem, verifyJwt, type TestRp } from '../support/rp.ts'
import { agentProof, agentUrl, createAgentKey, identityAgentTicket, issueTestCard, openCardSession, postJson, type OpenedSession, type TestCard } from '../support/smartcard.ts'
import { person as byName } from '../support/demo_people.ts'

const minute = 60_000
const hour = 60 * minute
type AgentKey = Awaited<ReturnType<typeof createAgentKey>>

describe('a sign-in made with a card session', () => {
  // The provider's clock runs `ahead` of the wall clock.
  const clock = { ahead: 0 }
  const now = () => Date.now() + clock.ahead
  const nowS = () => Math.floor(now() / 1000)
  let careid: TestCareid
  let receiver: Receiver
  let rp: TestRp

  before(async () => {
    careid = await startTestCareid({ now })
    await careid.provider.stopBackground()
    careid.provider.dispatcher.start(50)
    receiver = await startReceiver()
    rp = await addRp(careid, { backchannel_logout_uri: receiver.url })
  })
  after(async () => {
    await careid?.close()
    await receiver?.close()
  })

  interface CardHolder {
    card: TestCard
    agent: AgentKey
    opened: OpenedSession & { expires_at: number }
  }

  /** A card session opened now (at the provider's time), with `role` chosen at the agent if given. */
  async function insertCard(username: string, role?: string): Promise<CardHolder> {
    const card = await issueTestCard(careid, byName(username).uid)
    const agent = await createAgentKey()
    const opened = (await openCardSession(careid, card, agent)) as OpenedSession & { expires_at: number }
    if (role !== undefined) {
      const path = '/agent/session/role'
      const chosen = await postJson(agentUrl(careid, path), { person_roleid: role }, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })
      assert.equal(chosen.status, 200)
    }
    return { card, agent, opened }
  }

  /** The browser signs in to `rp` with the card (a ticket made at the provider's time). */
  async function signIn(browser: Browser, holder: CardHolder) {
    const landing = await choosing(browser, await browser.go(authorizeUrl(rp, { scope: 'openid', state: 's', acr_values: 'AAL3_ANY' })), 'smartcard')
    assert.ok(landing.page, `expected the smartcard page, got ${landing.location}`)
    const challenge = /data-challenge="([^"]+)"/.exec(landing.page.html)?.[1] as string
    const ticket = await identityAgentTicket(careid, holder.card, holder.agent, holder.opened.card_session, challenge, { iat: nowS(), exp: nowS() + 60 })
    const f = form(landing.page, '/authenticate')
    const posted = await browser.fetch(f.action, { form: { ...f.fields, ticket } })
    await posted.body?.cancel()
    assert.equal(posted.status, 303)
    const cookie = posted.headers.getSetCookie().find((line) => line.startsWith('careid_session='))
    return { tokens: await redeem(rp, posted.headers.get('location') ?? undefined), cookie }
  }

  /** The agent's end call (card removed), its proof made at the provider's time. */
  async function eject(holder: CardHolder, signer: AgentKey = holder.agent): Promise<Response> {
    const path = '/agent/session/end'
    return postJson(agentUrl(careid, path), {}, { authorization: `Bearer ${holder.opened.card_session_secret}`, 'agent-proof': await agentProof(careid, signer, path, { iat: nowS() }) })
  }

  async function logoutTokenFor(sid: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 400; i++) {
      for (const token of receiver.tokens) {
        const { payload } = await verifyJwt(careid, token)
        if (payload.sid === sid) return payload
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error(`no logout token for sid ${sid}`)
  }

  it('started 30 minutes before its card session ends, it expires when the card session does (absolute and idle limits, and the cookie)', async () => {
    clock.ahead = 0
    const holder = await insertCard('dr.hughes')
    assert.ok(Math.abs(holder.opened.expires_at - (now() + 12 * hour)) < 10_000, 'a card session lasts 12 hours')
    clock.ahead = holder.opened.expires_at - Date.now() - 30 * minute
    const { tokens, cookie } = await signIn(new Browser(careid.origin), holder)
    const session = await careid.context.store.sessions.getBySid(tokens.id.sid as string)
    assert.ok(session)
    assert.equal(session.expires_at, holder.opened.expires_at, "the card session's end, not 12 hours after sign-in")
    assert.ok(session.idle_expires_at <= holder.opened.expires_at, 'the idle limit does not reach past it either')
    const maxAge = Number(/max-age=(\d+)/i.exec(cookie ?? '')?.[1])
    assert.ok(maxAge > 29 * 60 && maxAge <= 30 * 60, `the cookie lasts until then: max-age ${maxAge}`)
  })

  it('when its card session ends, it ends: the sweep ends it and every relying party in it gets a logout token', async () => {
    clock.ahead = 0
    const holder = await insertCard('nurse.jones')
    // Ten minutes before the end: well within AAL3's 15-minute idle limit when the card session ends.
    clock.ahead = holder.opened.expires_at - Date.now() - 10 * minute
    const browser = new Browser(careid.origin)
    const { tokens } = await signIn(browser, holder)
    const sid = tokens.id.sid as string

    clock.ahead = holder.opened.expires_at - Date.now() + 1_000
    await careid.provider.maintain()
    assert.equal(await careid.context.store.sessions.getBySid(sid), undefined, 'ended')
    const logout = await logoutTokenFor(sid)
    assert.equal(logout.aud, rp.client_id)
    assert.equal(logout.sub, byName('nurse.jones').uid)
    const silent = await browser.go(authorizeUrl(rp, { scope: 'openid', state: 'quiet', acr_values: 'AAL3_ANY', prompt: 'none' }))
    assert.equal(new URL(silent.location ?? '').searchParams.get('error'), 'login_required')
  })

  it('removing the card after its card session ended answers 200 and ends its sign-ins, even where the policy is to lock', async () => {
    clock.ahead = 0
    const taylor = byName('midwife.taylor')
    const holder = await insertCard('midwife.taylor', taylor.positions.find((p) => p.org_code === 'RJ1')?.person_roleid)
    clock.ahead = holder.opened.expires_at - Date.now() - 30 * minute
    const { tokens } = await signIn(new Browser(careid.origin), holder)
    const sid = tokens.id.sid as string

    // The card session ran out an hour ago and nothing has swept since; then the card is removed.
    clock.ahead = holder.opened.expires_at - Date.now() + hour
    const ended = await eject(holder)
    assert.equal(ended.status, 200, await ended.clone().text())
    assert.deepEqual(await ended.json(), { sessions_ended: 1, sessions_locked: 0 })
    assert.equal(await careid.context.store.sessions.getBySid(sid), undefined)
    assert.equal((await logoutTokenFor(sid)).aud, rp.client_id)
    // Ended once: the same call again finds no card session.
    await expectJsonError(await eject(holder), { status: 401, error: 'invalid_card_session' })
  })

  it('an ended card session can be ended only by the agent that opened it, and gives nothing else', async () => {
    clock.ahead = 0
    const holder = await insertCard('pharm.singh')
    clock.ahead = holder.opened.expires_at - Date.now() - 30 * minute
    const { tokens } = await signIn(new Browser(careid.origin), holder)
    const sid = tokens.id.sid as string
    clock.ahead = holder.opened.expires_at - Date.now() + 1_000

    // Its secret with another agent's proof, or without one: refused, and the session is untouched.
    const thief = await createAgentKey()
    await expectJsonError(await eject(holder, thief), { status: 401, error: 'invalid_agent_proof', secrets: [holder.opened.card_session_secret] })
    const path = '/agent/session/end'
    await expectJsonError(await postJson(agentUrl(careid, path), {}, { authorization: `Bearer ${holder.opened.card_session_secret}` }), { status: 401, error: 'invalid_agent_proof' })
    assert.ok(await careid.context.store.sessions.getBySid(sid), 'nothing ended')
    // A role choice or a new sign-in needs a live card session.
    const rolePath = '/agent/session/role'
    const role = byName('pharm.singh').positions[0]?.person_roleid as string
    await expectJsonError(
      await postJson(agentUrl(careid, rolePath), { person_roleid: role }, { authorization: `Bearer ${holder.opened.card_session_secret}`, 'agent-proof': await agentProof(careid, holder.agent, rolePath, { iat: nowS() }) }),
      { status: 401, error: 'invalid_card_session' },
    )
    const browser = new Browser(careid.origin)
    const landing = await choosing(browser, await browser.go(authorizeUrl(rp, { scope: 'openid', state: 's', acr_values: 'AAL3_ANY' })), 'smartcard')
    assert.ok(landing.page)
    const challenge = /data-challenge="([^"]+)"/.exec(landing.page.html)?.[1] as string
    const f = form(landing.page, '/authenticate')
    const ticket = await identityAgentTicket(careid, holder.card, holder.agent, holder.opened.card_session, challenge, { iat: nowS(), exp: nowS() + 60 })
    const refused = await browser.go(f.action, { form: { ...f.fields, ticket } })
    assert.equal(refused.location, undefined)
    assert.equal(refused.page?.status, 400)
    assert.match(refused.page?.html ?? '', /Your smartcard session at the Identity Agent has ended/)

    // A day after its end the provider has forgotten it: the end call is refused (its sign-ins ended long before).
    await careid.provider.maintain()
    clock.ahead = holder.opened.expires_at - Date.now() + 25 * hour
    await careid.context.store.interactions.removeExpired(now())
    await expectJsonError(await eject(holder), { status: 401, error: 'invalid_card_session' })
  })
})
