/**
 * Step-up to AAL3 over HTTP (cis2.md 2: "an RP needing AAL3 for some functions sends a new request
 * with the AAL3 value"): a session at AAL2 (the authenticator app) asked for `AAL3_ANY`, or for a
 * method-specific AAL3 value, signs in again with an AAL3 method only (a smartcard here, the
 * Identity Agent's part played by the test); the session keeps its `sid`, gets a new secret (the old
 * cookie finds nothing), and the new `acr`, `amr` and `auth_time` are in the ID token, while the
 * tokens issued before keep the facts of the sign-in they came from.
 *
 * A step-up in which someone else signs in does not carry the first person's session: as
 * oidc-provider does (it logs the first account out before the second is signed in), the first
 * session ends, its relying parties are told by back-channel logout and its tokens revoked, and the
 * second person gets a session of their own. A request naming the first person (`id_token_hint`)
 * gets `login_required` instead and the first session stays (OIDC Core 3.1.2.1).
 *
 * Then the same through the API Platform's combined pattern: the AAL3-only sample API answers an
 * AAL2 token with RFC 9470's `insufficient_user_authentication` challenge, the application sends
 * the worker to the platform's `/oauth2/authorize` with the challenge's `acr_values`, the platform
 * passes them to the provider, the worker steps up with a smartcard in the same session, and the
 * API answers the new token.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { decodeJwt } from 'jose'
import { registerApplication } from '@careid/apim'
import type { Person } from '@careid/domain'
import type { ApplicationRecord } from '@careid/ports'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { Browser, form, radioValues, type Landing, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { password, person } from '../support/demo_people.ts'
import { h1, signIn } from '../support/journey.ts'
import { authorizeUrl, baseUrl, callbackParams, redeem, verifyJwt, type RedeemedTokens, type TestRp } from '../support/rp.ts'
import { createAgentKey, identityAgentTicket, issueTestCard, openCardSession } from '../support/smartcard.ts'

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

/** Waits for the next whole second, so that a later sign-in's auth_time (in seconds) is later. */
function nextSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000)))
}

function shown(landing: Landing): PageResult {
  assert.ok(landing.page, `expected a page, was redirected to ${landing.location}`)
  return landing.page
}

function post(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) })
}

/** The methods below AAL3, which a request for AAL3 must not offer. */
const belowAal3 = ['password', 'totp']

/**
 * From the first page of a journey that must offer AAL3 methods only: checks it does, picks the
 * smartcard if there is a choice, and signs in with `p`'s card as the Identity Agent would
 * (N3_SMARTCARD, bound to the card session). Returns where the provider sent the browser.
 */
async function smartcardSignIn(careid: TestCareid, browser: Browser, first: PageResult, p: Person): Promise<string> {
  let page = first
  assert.ok(!page.html.includes('name="password"') && !page.html.includes('name="code"'), `an AAL2 method's page was offered: ${h1(page)}`)
  if (page.html.includes('name="method"')) {
    const offered = radioValues(page, 'method')
    assert.ok(offered.includes('smartcard'), `offered ${offered.join(', ')}`)
    assert.deepEqual(offered.filter((m) => belowAal3.includes(m)), [], 'no method below AAL3 on the choice')
    const f = form(page, '/method')
    page = shown(await browser.go(f.action, { form: { ...f.fields, method: 'smartcard' } }))
  }
  const challenge = /data-challenge="([^"]+)"/.exec(page.html)?.[1]
  assert.ok(challenge, `expected the smartcard page, got "${h1(page)}"`)
  const card = await issueTestCard(careid, p.uid)
  const agent = await createAgentKey()
  const opened = await openCardSession(careid, card, agent)
  const f = form(page, '/authenticate')
  const done = await browser.go(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(careid, card, agent, opened.card_session, challenge) } })
  assert.ok(done.location, `expected a redirect, got the page "${done.page === undefined ? '' : h1(done.page)}"`)
  return done.location
}

interface RefreshingRp extends TestRp {
  receiver: Receiver
}

describe('step-up to AAL3', () => {
  let careid: TestCareid
  const receivers: Receiver[] = []

  before(async () => {
    // The smartcard page, not a redirect to an Identity Agent: the test plays the agent's part.
    careid = await startTestCareid({ config: { agentHandoff: 'never' } })
  })
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()))
    await careid?.close()
  })

  async function addRefreshingRp(): Promise<RefreshingRp> {
    const receiver = await startReceiver()
    receivers.push(receiver)
    const redirect_uri = `https://rp${randomBytes(4).toString('hex')}.example.test/callback`
    const { client_id, client_secret } = await careid.addClient({
      redirect_uris: [redirect_uri],
      backchannel_logout_uri: receiver.url,
      token_endpoint_auth_method: 'client_secret_post',
      refresh_tokens: true,
    })
    return { careid, client_id, client_secret: client_secret as string, redirect_uri, receiver }
  }

  function url(rp: TestRp, params: Record<string, string>): string {
    return authorizeUrl(rp, { scope: 'openid', state: 'st', ...params })
  }

  /** The authenticator-app sign-in (AAL2) of a request that accepts AAL2 or AAL3. */
  async function aal2SignIn(rp: TestRp, browser: Browser, p: Person): Promise<RedeemedTokens> {
    const { location } = await signIn(browser, url(rp, { acr_values: 'AAL2_OR_AAL3_ANY' }), { username: p.username, password: password(p), method: 'totp', code: () => careid.totp(p.uid) })
    const tokens = await redeem(rp, location)
    assert.equal(tokens.id.acr, 'AAL2_OR_AAL3_ANY')
    assert.deepEqual(tokens.id.amr, ['TOTP'])
    assert.equal(tokens.id.authentication_assurance_level, '2')
    return tokens
  }

  function refresh(rp: TestRp, refreshToken: string): Promise<Response> {
    return post(`${baseUrl(careid)}/access_token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: rp.client_id, client_secret: rp.client_secret })
  }

  /** The sign-in facts the grant behind an access token keeps for every token issued from it. */
  async function grantFacts(accessToken: string) {
    const grant = await careid.context.store.grants.get(decodeJwt(accessToken).authGrantId as string)
    assert.ok(grant, 'the grant is stored')
    return grant.sign_in
  }

  it('AAL2 asked for AAL3_ANY: an AAL3 method only, the same sid with a new secret, the new acr, amr and auth_time; earlier tokens keep theirs', async () => {
    const rp = await addRefreshingRp()
    const worker = person('pharm.singh')
    const browser = new Browser(careid.origin)
    const first = await aal2SignIn(rp, browser, worker)
    const aal2Secret = browser.cookies.get('careid_session') as string
    assert.ok(aal2Secret)
    assert.equal(typeof first.body.refresh_token, 'string')
    await nextSecond()

    const stepUpStarted = Math.floor(Date.now() / 1000)
    const landing = shown(await browser.go(url(rp, { acr_values: 'AAL3_ANY', state: 'up' })))
    const location = await smartcardSignIn(careid, browser, landing, worker)
    assert.equal(callbackParams(rp, location).get('state'), 'up')
    const second = await redeem(rp, location)
    const stepUpEnded = Math.floor(Date.now() / 1000)

    assert.equal(second.id.sub, worker.uid)
    assert.equal(second.id.sid, first.id.sid, 'the same session')
    assert.equal(second.id.acr, 'AAL3_ANY')
    assert.deepEqual(second.id.amr, ['N3_SMARTCARD'])
    assert.equal(second.id.authentication_assurance_level, '3')
    const authTime = second.id.auth_time as number
    assert.ok(authTime > (first.id.auth_time as number), 'a fresh authentication')
    assert.ok(authTime >= stepUpStarted && authTime <= stepUpEnded, `auth_time ${authTime} is the step-up's`)

    // A new cookie secret; the store no longer knows the old one, and it answers nothing.
    const aal3Secret = browser.cookies.get('careid_session') as string
    assert.notEqual(aal3Secret, aal2Secret)
    assert.equal(await careid.context.store.sessions.get(sha256(aal2Secret)), undefined)
    const stored = await careid.context.store.sessions.get(sha256(aal3Secret))
    assert.ok(stored)
    assert.deepEqual([stored.sid, stored.aal, stored.amr, Math.floor(stored.auth_time / 1000)], [first.id.sid, 3, ['N3_SMARTCARD'], authTime])
    const stale = new Browser(careid.origin)
    stale.cookies.set('careid_session', aal2Secret)
    const refused = await stale.go(url(rp, { acr_values: 'AAL2_OR_AAL3_ANY', prompt: 'none', state: 'old' }))
    assert.equal(callbackParams(rp, refused.location).get('error'), 'login_required')

    // The tokens from before the step-up keep the facts of the AAL2 sign-in; the new grant has the new ones.
    const before = await grantFacts(first.access_token)
    assert.ok(before)
    assert.deepEqual({ ...before, auth_time: Math.floor(before.auth_time / 1000) }, { acr: 'AAL2_OR_AAL3_ANY', amr: ['TOTP'], aal: 2, auth_time: first.id.auth_time, id_assurance_level: '3' })
    const afterFacts = await grantFacts(second.access_token)
    assert.deepEqual([afterFacts?.acr, afterFacts?.amr, afterFacts?.aal, afterFacts?.auth_time], ['AAL3_ANY', ['N3_SMARTCARD'], 3, stored.auth_time])
    const refreshed = await refresh(rp, first.body.refresh_token as string)
    const refreshedBody = (await refreshed.json()) as Record<string, string>
    assert.equal(refreshed.status, 200, JSON.stringify(refreshedBody))
    const refreshedAccess = (await verifyJwt(careid, refreshedBody.access_token as string)).payload
    assert.equal(refreshedAccess.auth_time, first.id.auth_time, 'a refresh of the AAL2 grant states the AAL2 sign-in')
    assert.equal(refreshedAccess.authGrantId, decodeJwt(first.access_token).authGrantId)

    // The stepped-up session answers requests for AAL3 and below without a page, in the same session.
    for (const acr of ['AAL3_ANY', 'AAL3_SMARTCARD', 'AAL2_OR_AAL3_ANY']) {
      const sso = await browser.go(url(rp, { acr_values: acr, prompt: 'none', state: acr }))
      const tokens = await redeem(rp, sso.location)
      assert.deepEqual([tokens.id.sid, tokens.id.acr, tokens.id.auth_time], [first.id.sid, acr, authTime])
    }
    // No one was logged out.
    await careid.provider.dispatcher.runOnce()
    assert.deepEqual(rp.receiver.tokens, [])
  })

  it('AAL2 asked for a method-specific AAL3 value (AAL3_SMARTCARD): the smartcard only, and that acr', async () => {
    const rp = await addRefreshingRp()
    const worker = person('locum.okafor')
    const browser = new Browser(careid.origin)
    const first = await aal2SignIn(rp, browser, worker)
    await nextSecond()
    const landing = shown(await browser.go(url(rp, { acr_values: 'AAL3_SMARTCARD', state: 'up' })))
    // Only the smartcard meets it: its page at once, no choice.
    assert.ok(!landing.html.includes('name="method"'))
    const second = await redeem(rp, await smartcardSignIn(careid, browser, landing, worker))
    assert.deepEqual([second.id.sid, second.id.acr, second.id.amr, second.id.authentication_assurance_level], [first.id.sid, 'AAL3_SMARTCARD', ['N3_SMARTCARD'], '3'])
    assert.ok((second.id.auth_time as number) > (first.id.auth_time as number))
  })

  it('a step-up in which someone else signs in ends the first session (told, tokens revoked) and starts their own; nothing of the first carries', async () => {
    const rp = await addRefreshingRp()
    const first = person('nurse.jones')
    const other = person('dr.hughes')
    const browser = new Browser(careid.origin)
    const before = await aal2SignIn(rp, browser, first)
    const firstSecret = browser.cookies.get('careid_session') as string

    const landing = shown(await browser.go(url(rp, { acr_values: 'AAL3_ANY', state: 'up' })))
    const after = await redeem(rp, await smartcardSignIn(careid, browser, landing, other))
    assert.equal(after.id.sub, other.uid)
    assert.notEqual(after.id.sid, before.id.sid, 'a session of their own')
    assert.deepEqual([after.id.acr, after.id.amr, after.id.authentication_assurance_level], ['AAL3_ANY', ['N3_SMARTCARD'], '3'])
    const secret = browser.cookies.get('careid_session') as string
    assert.notEqual(secret, firstSecret)
    const stored = await careid.context.store.sessions.get(sha256(secret))
    assert.equal(stored?.sub, other.uid)
    // The second session was made by this sign-in alone: only this relying party, none of the first's history.
    assert.deepEqual(stored?.clients, [rp.client_id])

    // The first session is gone, its tokens with it, and its relying party is told.
    assert.equal(await careid.context.store.sessions.getBySid(before.id.sid as string), undefined)
    assert.equal(await careid.context.store.sessions.get(sha256(firstSecret)), undefined)
    const refused = await refresh(rp, before.body.refresh_token as string)
    assert.equal(refused.status, 400)
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant')
    await careid.provider.dispatcher.runOnce()
    const [logout] = await rp.receiver.waitFor(1)
    const claims = (await verifyJwt(careid, logout as string)).payload
    assert.deepEqual([claims.sub, claims.sid], [first.uid, before.id.sid])
    assert.equal(rp.receiver.tokens.length, 1, 'the second session is not logged out')
    const audit = await careid.context.store.audit.recent(50)
    assert.ok(audit.some((e) => e.type === 'session.ended' && (e.detail as { reason?: string; sid?: string }).reason === 'replaced' && (e.detail as { sid?: string }).sid === before.id.sid))
  })

  it('a step-up naming the first person (id_token_hint) in which someone else signs in: login_required, and the first session stays as it was', async () => {
    const rp = await addRefreshingRp()
    const first = person('midwife.taylor')
    const other = person('ra.whitfield')
    const browser = new Browser(careid.origin)
    const before = await aal2SignIn(rp, browser, first)
    const firstSecret = browser.cookies.get('careid_session') as string

    const landing = shown(await browser.go(url(rp, { acr_values: 'AAL3_ANY', id_token_hint: before.id_token, state: 'up' })))
    const params = callbackParams(rp, await smartcardSignIn(careid, browser, landing, other))
    assert.equal(params.get('error'), 'login_required')
    assert.equal(params.get('code'), null)
    assert.equal(params.get('state'), 'up')
    assert.equal(browser.cookies.get('careid_session'), firstSecret, 'no new session cookie')
    const stored = await careid.context.store.sessions.get(sha256(firstSecret))
    assert.deepEqual([stored?.sid, stored?.sub, stored?.aal, stored?.amr], [before.id.sid, first.uid, 2, ['TOTP']])
    const again = await browser.go(url(rp, { acr_values: 'AAL2_OR_AAL3_ANY', prompt: 'none', state: 'again' }))
    assert.equal((await redeem(rp, again.location)).id.sid, before.id.sid)
  })
})

describe('step-up through the API Platform (RFC 9470)', () => {
  const callback = 'https://app.example.test/callback'
  const pdsAal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'
  const pdsAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
  const sampleAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api'
  let careid: TestCareid
  let app: ApplicationRecord
  let secret: string

  before(async () => {
    careid = await startTestCareid({ config: { agentHandoff: 'never' } })
    const registered = registerApplication({ name: 'Clinical app', callback_urls: [callback], scopes: [pdsAal3, pdsAal2, sampleAal3] }, Date.now())
    app = registered.application
    secret = registered.secret
    await careid.context.store.apps.put(app)
  })
  after(async () => careid?.close())

  /** What the application does to sign the worker in: the platform's authorize URL, with `acr_values` when it asks for a level. */
  function authorize(state: string, acrValues?: string): string {
    const query = new URLSearchParams({ response_type: 'code', client_id: app.api_key, redirect_uri: callback, state, ...(acrValues === undefined ? {} : { acr_values: acrValues }) })
    return `${careid.apiOrigin}/oauth2/authorize?${query}`
  }

  /** The platform's code for the application, from the platform callback's redirect. */
  async function platformCode(browser: Browser, providerLocation: string, state: string): Promise<string> {
    assert.ok(providerLocation.startsWith(`${careid.apiOrigin}/oauth2/callback?`), providerLocation)
    const appRedirect = await browser.fetch(providerLocation)
    assert.equal(appRedirect.status, 302, await appRedirect.clone().text())
    const back = new URL(appRedirect.headers.get('location') as string)
    assert.equal(back.origin + back.pathname, callback)
    assert.equal(back.searchParams.get('state'), state)
    return back.searchParams.get('code') as string
  }

  async function redeemAtPlatform(code: string): Promise<Record<string, string>> {
    const response = await post(`${careid.apiOrigin}/oauth2/token`, { grant_type: 'authorization_code', code, redirect_uri: callback, client_id: app.api_key, client_secret: secret })
    const body = (await response.json()) as Record<string, string>
    assert.equal(response.status, 200, JSON.stringify(body))
    return body
  }

  /** The AAL3-only sample API, as the application calls it: the worker's role in NHSD-Session-URID. */
  function sampleApi(accessToken: string, roleId: string): Promise<Response> {
    return fetch(`${careid.apiOrigin}/sample-aal3-api/hello`, { headers: { authorization: `Bearer ${accessToken}`, 'nhsd-session-urid': roleId, 'x-request-id': randomUUID() } })
  }

  /** RFC 9470 section 3: the `acr_values` of a Bearer challenge with `error="insufficient_user_authentication"`. */
  function stepUpAcrValues(challenge: string | null): string {
    assert.ok(challenge !== null && challenge.startsWith('Bearer ') && challenge.includes('error="insufficient_user_authentication"'), `challenge: ${challenge}`)
    const acr = /(?:^|[\s,])acr_values="([^"]*)"/.exec(challenge)?.[1]
    assert.ok(acr, `no acr_values in ${challenge}`)
    return acr
  }

  it('an AAL2 sign-in, the AAL3 API\'s 401 challenge, a new authorization with its acr_values, a smartcard sign-in in the same session: the API answers', async () => {
    const worker = person('pharm.singh')
    const role = worker.positions[1]?.person_roleid as string
    const browser = new Browser(careid.origin)

    // The worker signs in with the authenticator app, the application asking for AAL2 or AAL3.
    const start = await browser.fetch(authorize('first', 'AAL2_OR_AAL3_ANY'))
    assert.equal(start.status, 302)
    const { location: back1 } = await signIn(browser, start.headers.get('location') as string, { username: worker.username, password: password(worker), method: 'totp', code: () => careid.totp(worker.uid) })
    const aal2 = await redeemAtPlatform(await platformCode(browser, back1, 'first'))
    const aal2Sid = aal2.sid as string
    assert.ok(aal2Sid)

    // The AAL3-only API refuses the AAL2 token with RFC 9470's challenge.
    const challenged = await sampleApi(aal2.access_token as string, role)
    assert.equal(challenged.status, 401)
    const acrValues = stepUpAcrValues(challenged.headers.get('www-authenticate'))
    assert.equal(acrValues, 'AAL3_ANY')
    await challenged.body?.cancel()

    // The application sends the worker to sign in again with those acr_values; the platform passes them on to the provider.
    await nextSecond()
    const again = await browser.fetch(authorize('second', acrValues))
    assert.equal(again.status, 302)
    const toProvider = new URL(again.headers.get('location') as string)
    assert.equal(toProvider.searchParams.get('acr_values'), 'AAL3_ANY')
    assert.equal(toProvider.searchParams.get('max_age'), '300')
    const landing = shown(await browser.go(toProvider.href))
    const back2 = await smartcardSignIn(careid, browser, landing, worker)
    const aal3 = await redeemAtPlatform(await platformCode(browser, back2, 'second'))

    // The same session at the provider, now at AAL3: the platform's grant says so.
    assert.equal(aal3.sid, aal2Sid, 'the same sid')
    const held = await careid.context.store.apiGrants.findAccess(sha256(aal3.access_token as string), Date.now())
    assert.deepEqual([held?.grant.user?.sid, held?.grant.user?.aal, held?.grant.user?.acr, held?.grant.scope], [aal2Sid, 3, 'AAL3_ANY', `${pdsAal3} ${sampleAal3}`])

    const answered = await sampleApi(aal3.access_token as string, role)
    assert.equal(answered.status, 200, await answered.clone().text())
    assert.equal(answered.headers.get('www-authenticate'), null)
    assert.deepEqual(await answered.json(), { message: 'Hello from the sample AAL3 API', mode: 'healthcare_worker', apiKey: app.api_key, sub: worker.uid, roleId: role, aal: 3 })

    // The token from before the step-up keeps its AAL2 facts: still refused by the AAL3 API.
    const old = await sampleApi(aal2.access_token as string, role)
    assert.equal(old.status, 401)
    assert.equal(stepUpAcrValues(old.headers.get('www-authenticate')), 'AAL3_ANY')
    await old.body?.cancel()
  })
})
