/**
 * Ending a session ends what it issued. However an SSO session ends (RP-initiated logout, idle or
 * absolute timeout, another person signing in, the card removed, the card revoked, an
 * administrator), every access token issued in it is refused at userinfo (401 `invalid_token`) and
 * inactive at introspection, every refresh token gets `invalid_grant`, and each relying party that
 * took part gets its back-channel logout token. A code issued in the session and redeemed after it
 * ended gives nothing.
 *
 * On the embedded store, and on two nodes sharing PostgreSQL and Redis: the session ends through
 * node A (or an admin command, in its own context) and node B refuses the tokens at once.
 *
 * And a refresh keeps what the sign-in established: the role, auth_time and userinfo's answers.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { decodeJwt } from 'jose'
import pg from 'pg'
import { sha256 } from '@careid/oidc'
import { openContext, type CareidContext } from '../../packages/cli/src/context.ts'
import { revokeCard } from '../../packages/cli/src/commands/cards.ts'
import { endSessions } from '../../packages/cli/src/commands/sessions.ts'
import { resolveSettings } from '../../packages/cli/src/settings.ts'
import * as services from '../../packages/store/test/support/services.ts'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { Browser, form, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { signIn, choosing } from '../support/journey.ts'
import { expectJsonError } from '../support/refusals.ts'
import { authorizeUrl, baseUrl, callbackParams, redeem, userinfo, type RedeemedTokens, type TestRp } from '../support/rp.ts'
import { agentProof, agentUrl, createAgentKey, identityAgentTicket, issueTestCard, openCardSession, postJson } from '../support/smartcard.ts'
import { password, person } from '../support/demo_people.ts'

const realmPath = '/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Where the session ends (A) and where its tokens are tried afterwards (B: A itself on one node). */
interface Deployment {
  a: TestCareid
  b: TestCareid
  /** A context of its own on the same data, as the `careid` command opens one. */
  admin: CareidContext
  receivers: Receiver[]
}

/** A relying party with refresh tokens and a back-channel logout endpoint, registered through A. */
interface Rp extends TestRp {
  receiver: Receiver
}

async function addRefreshingRp(dep: Deployment): Promise<Rp> {
  const receiver = await startReceiver()
  dep.receivers.push(receiver)
  const redirect_uri = `https://rp${randomBytes(4).toString('hex')}.example.test/callback`
  const { client_id, client_secret } = await dep.a.addClient({
    redirect_uris: [redirect_uri],
    backchannel_logout_uri: receiver.url,
    token_endpoint_auth_method: 'client_secret_post',
    refresh_tokens: true,
  })
  return { careid: dep.a, client_id, client_secret: client_secret as string, redirect_uri, receiver }
}

/** The same relying party as node B sees it (the registration is in the shared store). */
function on(node: TestCareid, rp: Rp): Rp {
  return { ...rp, careid: node }
}

function passwordUrl(rp: TestRp, params: Record<string, string> = {}): string {
  return authorizeUrl(rp, { scope: 'openid profile', acr_values: 'AAL1_USERPASS', state: 'st', nonce: 'n', ...params })
}

interface Issued extends RedeemedTokens {
  refresh_token: string
  sid: string
}

async function redeemWithRefresh(rp: Rp, location: string | undefined): Promise<Issued> {
  const tokens = await redeem(rp, location)
  assert.equal(typeof tokens.body.refresh_token, 'string', 'a refresh token was issued')
  return { ...tokens, refresh_token: tokens.body.refresh_token as string, sid: tokens.id.sid as string }
}

/** A password sign-in on A in a new browser; the tokens of its code. */
async function signedIn(dep: Deployment, rp: Rp, username: string): Promise<{ browser: Browser; tokens: Issued }> {
  const p = person(username)
  const browser = new Browser(dep.a.origin)
  const { location } = await signIn(browser, passwordUrl(rp), { username: p.username, password: password(p), method: 'password' })
  return { browser, tokens: await redeemWithRefresh(rp, location) }
}

function post(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
}

function refresh(rp: TestRp, refreshToken: string): Promise<Response> {
  return post(`${baseUrl(rp.careid)}/access_token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: rp.client_id, client_secret: rp.client_secret })
}

async function introspect(rp: TestRp, token: string): Promise<Record<string, unknown>> {
  const response = await post(`${baseUrl(rp.careid)}/introspect`, { token, client_id: rp.client_id, client_secret: rp.client_secret })
  const body = (await response.json()) as Record<string, unknown>
  assert.equal(response.status, 200, JSON.stringify(body))
  return body
}

function userinfoResponse(node: TestCareid, accessToken: string): Promise<Response> {
  return fetch(`${baseUrl(node)}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
}

/** Everything issued in the session works (through B). */
async function assertLive(rp: Rp, tokens: Issued): Promise<void> {
  assert.equal((await userinfoResponse(rp.careid, tokens.access_token)).status, 200)
  assert.equal((await introspect(rp, tokens.access_token)).active, true)
  assert.equal((await introspect(rp, tokens.refresh_token)).active, true)
}

/** Everything issued in the session is refused (through B), and the logout token went out. */
async function assertEnded(dep: Deployment, rp: Rp, tokens: Issued): Promise<void> {
  await expectJsonError(await userinfoResponse(rp.careid, tokens.access_token), { status: 401, error: 'invalid_token' })
  assert.deepEqual(await introspect(rp, tokens.access_token), { active: false })
  assert.deepEqual(await introspect(rp, tokens.refresh_token), { active: false })
  await expectJsonError(await refresh(rp, tokens.refresh_token), { status: 400, error: 'invalid_grant' })
  await dep.a.provider.dispatcher.runOnce()
  const [logoutToken] = await rp.receiver.waitFor(1)
  const logout = decodeJwt(logoutToken as string)
  assert.equal(logout.sid, tokens.sid)
  assert.equal(logout.aud, rp.client_id)
  assert.equal(await dep.a.context.store.sessions.getBySid(tokens.sid), undefined, 'the session is gone')
}

/** Moves a session's limits into the past, as if its time had run out. */
async function runOut(dep: Deployment, sid: string, limit: 'idle' | 'absolute'): Promise<void> {
  const session = await dep.a.context.store.sessions.getBySid(sid)
  assert.ok(session)
  const past = Date.now() - 1
  const { amr, aal, auth_time, last_seen_at, binding } = session
  const limits = limit === 'idle' ? { expires_at: session.expires_at, idle_expires_at: past } : { expires_at: past, idle_expires_at: past }
  assert.equal(await dep.a.context.store.sessions.reauthenticate(session.session_hash, { session_hash: session.session_hash, amr, aal, auth_time, last_seen_at, binding, ...limits }), true)
}

async function smartcardSignIn(dep: Deployment, rp: Rp, username: string) {
  const holder = person(username)
  const card = await issueTestCard(dep.a, holder.uid)
  const agent = await createAgentKey()
  const opened = await openCardSession(dep.a, card, agent)
  const browser = new Browser(dep.a.origin)
  const landing = await choosing(browser, await browser.go(authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL3_ANY', state: 'st', nonce: 'n' })), 'smartcard')
  const page = landing.page as PageResult
  assert.ok(page, `expected the smartcard page, got ${landing.location}`)
  const challenge = /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string
  const f = form(page, '/authenticate')
  const done = await browser.go(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(dep.a, card, agent, opened.card_session, challenge) } })
  const tokens = await redeemWithRefresh(rp, done.location)
  assert.deepEqual(tokens.id.amr, ['N3_SMARTCARD'])
  return { card, agent, opened, tokens }
}

/** The tests every deployment runs; `deploy` gives A and B, `cleanup` removes what it made. */
function endReasons(name: string, deploy: () => Promise<Deployment>, cleanup: (dep: Deployment) => Promise<void>): void {
  describe(`ending a session ends its grants: ${name}`, () => {
    let dep: Deployment
    before(async () => {
      dep = await deploy()
    })
    after(async () => {
      await Promise.all(dep.receivers.map((r) => r.close()))
      await cleanup(dep)
    })

    it('RP-initiated logout revokes the access and refresh tokens issued in the session', async () => {
      const rp = await addRefreshingRp(dep)
      const { browser, tokens } = await signedIn(dep, rp, 'nurse.jones')
      await assertLive(on(dep.b, rp), tokens)
      const out = await browser.go(`${baseUrl(dep.a)}/connect/endSession?${new URLSearchParams({ id_token_hint: tokens.id_token })}`)
      assert.equal(out.page?.status, 200, 'the signed-out page')
      await assertEnded(dep, on(dep.b, rp), tokens)
    })

    it('a refreshed token dies with its session too', async () => {
      const rp = await addRefreshingRp(dep)
      const { tokens } = await signedIn(dep, rp, 'midwife.taylor')
      const response = await refresh(rp, tokens.refresh_token)
      const refreshed = (await response.json()) as { access_token: string; refresh_token: string }
      assert.equal(response.status, 200, JSON.stringify(refreshed))
      await dep.a.provider.sessions.endBySid(tokens.sid, 'logout')
      await assertEnded(dep, on(dep.b, rp), { ...tokens, ...refreshed })
    })

    it('the idle timeout, found by the sweep, revokes them', async () => {
      const rp = await addRefreshingRp(dep)
      const { tokens } = await signedIn(dep, rp, 'dr.hughes')
      await runOut(dep, tokens.sid, 'idle')
      await dep.a.provider.sessions.sweep()
      await assertEnded(dep, on(dep.b, rp), tokens)
    })

    it('the absolute timeout, found by the next request, revokes them', async () => {
      const rp = await addRefreshingRp(dep)
      const { browser, tokens } = await signedIn(dep, rp, 'dentist.walker')
      await runOut(dep, tokens.sid, 'absolute')
      const none = await browser.go(passwordUrl(rp, { prompt: 'none', state: 'late' }))
      assert.equal(callbackParams(rp, none.location).get('error'), 'login_required')
      await assertEnded(dep, on(dep.b, rp), tokens)
    })

    it('another person signing in on the same browser ends the first session and revokes its tokens', async () => {
      const rp = await addRefreshingRp(dep)
      const { browser, tokens } = await signedIn(dep, rp, 'reception.brown')
      const other = person('agency.clark')
      const { location } = await signIn(browser, passwordUrl(rp, { prompt: 'login' }), { username: other.username, password: password(other), method: 'password' })
      const second = await redeemWithRefresh(rp, location)
      assert.notEqual(second.sid, tokens.sid)
      await assertEnded(dep, on(dep.b, rp), tokens)
      await assertLive(on(dep.b, rp), second)
    })

    it('removing the card (the agent ends its card session) revokes the tokens of its sign-ins', async () => {
      const rp = await addRefreshingRp(dep)
      const { agent, opened, tokens } = await smartcardSignIn(dep, rp, 'pharm.singh')
      await assertLive(on(dep.b, rp), tokens)
      const path = '/agent/session/end'
      const ended = await postJson(agentUrl(dep.a, path), {}, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(dep.a, agent, path) })
      assert.deepEqual(await ended.json(), { sessions_ended: 1, sessions_locked: 0 })
      await assertEnded(dep, on(dep.b, rp), tokens)
    })

    it('`careid cards revoke` ends the card session and the sign-ins made with it, and revokes their tokens', async () => {
      const rp = await addRefreshingRp(dep)
      const { card, agent, opened, tokens } = await smartcardSignIn(dep, rp, 'locum.okafor')
      await assertLive(on(dep.b, rp), tokens)
      const printed: string[] = []
      await revokeCard(dep.admin, card.record.serial, (s) => printed.push(s))
      assert.deepEqual(printed, [`Card ${card.record.serial} revoked: it signs nobody in from now on.`, '1 sign-in(s) made with it ended; their applications are being told.'])
      await assertEnded(dep, on(dep.b, rp), tokens)
      // The card session is over too: the agent holding it is refused.
      const path = '/agent/session/end'
      await expectJsonError(await postJson(agentUrl(dep.b, path), {}, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(dep.b, agent, path) }), {
        status: 401,
        error: 'invalid_card_session',
      })
    })

    it('`careid sessions end <uid>` ends every session of the person and revokes their tokens, and no one else\'s', async () => {
      const rp = await addRefreshingRp(dep)
      const first = await signedIn(dep, rp, 'ra.whitfield')
      const second = await signedIn(dep, rp, 'ra.whitfield')
      const bystander = await signedIn(dep, rp, 'new.starter')
      const printed: string[] = []
      await endSessions(dep.admin, person('ra.whitfield').uid, (s) => printed.push(s))
      assert.deepEqual(printed, [`Ended 2 sign-in(s) of ${person('ra.whitfield').uid}; their applications are being told.`])
      await expectJsonError(await userinfoResponse(dep.b, first.tokens.access_token), { status: 401, error: 'invalid_token' })
      await expectJsonError(await refresh(on(dep.b, rp), first.tokens.refresh_token), { status: 400, error: 'invalid_grant' })
      await expectJsonError(await userinfoResponse(dep.b, second.tokens.access_token), { status: 401, error: 'invalid_token' })
      assert.deepEqual(await introspect(on(dep.b, rp), second.tokens.refresh_token), { active: false })
      await dep.a.provider.dispatcher.runOnce()
      const logouts = (await rp.receiver.waitFor(2)).map((t) => decodeJwt(t).sid).sort()
      assert.deepEqual(logouts, [first.tokens.sid, second.tokens.sid].sort())
      await assertLive(on(dep.b, rp), bystander.tokens)
      const audit = await dep.a.context.store.audit.recent(20)
      assert.ok(audit.some((e) => e.type === 'sessions.ended_by_admin' && e.subject === person('ra.whitfield').uid && e.detail?.sessions_ended === 2))
    })

    it('a session end cut short before the session is deleted has already revoked its tokens; ending it again completes', async () => {
      const rp = await addRefreshingRp(dep)
      const { tokens } = await signedIn(dep, rp, 'agency.clark')
      const sessions = dep.a.context.store.sessions
      const remove = sessions.remove
      // The node fails (as if it crashed) at the last step of the end: deleting the session.
      sessions.remove = async () => {
        throw new Error('the node went away')
      }
      try {
        await assert.rejects(dep.a.provider.sessions.endBySid(tokens.sid, 'logout'), /the node went away/)
      } finally {
        sessions.remove = remove
      }
      assert.ok(await sessions.getBySid(tokens.sid), 'the session is still there')
      await expectJsonError(await userinfoResponse(dep.b, tokens.access_token), { status: 401, error: 'invalid_token' })
      await expectJsonError(await refresh(on(dep.b, rp), tokens.refresh_token), { status: 400, error: 'invalid_grant' })
      await dep.a.provider.sessions.endBySid(tokens.sid, 'logout')
      await assertEnded(dep, on(dep.b, rp), tokens)
    })

    it('a code issued in the session and redeemed after it ended gives nothing', async () => {
      const rp = await addRefreshingRp(dep)
      const other = await addRefreshingRp(dep)
      const { browser, tokens } = await signedIn(dep, rp, 'dr.patel')
      // Single sign-on gives the other relying party a code in the same session, not yet redeemed.
      const sso = await browser.go(passwordUrl(other, { state: 'sso' }))
      const code = callbackParams(other, sso.location).get('code') as string
      assert.ok(code)
      await dep.a.provider.sessions.endBySid(tokens.sid, 'logout')
      const late = await post(`${baseUrl(dep.b)}/access_token`, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: other.redirect_uri,
        client_id: other.client_id,
        client_secret: other.client_secret,
      })
      await expectJsonError(late, { status: 400, error: 'invalid_grant' })
    })

    it('a code redeemed while its session ends leaves no live grant, whichever finishes first', async () => {
      const rp = await addRefreshingRp(dep)
      const other = await addRefreshingRp(dep)
      for (let round = 0; round < 6; round++) {
        const { browser, tokens } = await signedIn(dep, rp, 'dr.patel')
        const sso = await browser.go(passwordUrl(other, { state: `race-${round}` }))
        const code = callbackParams(other, sso.location).get('code') as string
        const [, redeemed] = await Promise.all([
          dep.a.provider.sessions.endBySid(tokens.sid, 'logout'),
          post(`${baseUrl(dep.b)}/access_token`, { grant_type: 'authorization_code', code, redirect_uri: other.redirect_uri, client_id: other.client_id, client_secret: other.client_secret }),
        ])
        if (redeemed.status !== 200) {
          await expectJsonError(redeemed, { status: 400, error: 'invalid_grant' })
          continue
        }
        // Redeemed before the end reached its grant: the end revoked it.
        const late = (await redeemed.json()) as { access_token: string; refresh_token: string }
        await expectJsonError(await userinfoResponse(dep.b, late.access_token), { status: 401, error: 'invalid_token' })
        await expectJsonError(await refresh(on(dep.b, other), late.refresh_token), { status: 400, error: 'invalid_grant' })
      }
    })
  })
}

function embedded(): void {
  endReasons(
    'the embedded store',
    async () => {
      const careid = await startTestCareid()
      const admin = await openContext(resolveSettings({ dataDir: careid.dataDir, issuer: careid.issuer, logLevel: 'silent' }, { CAREID_KEY_ENCRYPTION_KEY: undefined }))
      return { a: careid, b: careid, admin, receivers: [] }
    },
    async (dep) => {
      await dep.admin.close()
      await dep.a.close()
    },
  )
}

function scaledOut(postgresUrl: string, redisUrl: string): void {
  const schema = `careid_test_${randomBytes(6).toString('hex')}`
  const issuer = `http://careid.lb.test${realmPath}`
  const env = { DATABASE_URL: postgresUrl, REDIS_URL: redisUrl, CAREID_DATABASE_SCHEMA: schema, CAREID_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') }
  endReasons(
    'two nodes on PostgreSQL and Redis',
    async () => {
      const a = await startTestCareid({ issuer: () => issuer, env })
      const b = await startTestCareid({ issuer: () => issuer, env })
      const admin = await openContext(resolveSettings({ dataDir: a.dataDir, issuer, logLevel: 'silent' }, env))
      return { a, b, admin, receivers: [] }
    },
    async (dep) => {
      await dep.admin.close()
      await dep.a.close()
      await dep.b.close()
      const client = new pg.Client({ connectionString: postgresUrl })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
      const redis = new Redis(redisUrl)
      const keys = await redis.keys(`careid:${schema}:*`)
      if (keys.length > 0) await redis.del(...keys)
      await redis.quit()
    },
  )
}

embedded()
const postgres = await services.ensurePostgres()
const redis = await services.ensureRedis()
if (!postgres.available) it('ending a session ends its grants: two nodes on PostgreSQL and Redis', { skip: postgres.reason }, () => {})
else if (!redis.available) it('ending a session ends its grants: two nodes on PostgreSQL and Redis', { skip: redis.reason }, () => {})
else scaledOut(postgres.url, redis.url)

describe('a refresh keeps what the sign-in established', () => {
  let careid: TestCareid
  before(async () => {
    careid = await startTestCareid()
  })
  after(async () => {
    await careid.close()
  })

  it('the role, auth_time and userinfo stay those of the sign-in, over two refreshes; no ID token is issued', async () => {
    const patel = person('dr.patel')
    const role = patel.positions[1]?.person_roleid as string
    const { client_id, client_secret } = await careid.addClient({ redirect_uris: ['https://refresh.example.test/cb'], token_endpoint_auth_method: 'client_secret_post', refresh_tokens: true })
    const rp: TestRp = { careid, client_id, client_secret: client_secret as string, redirect_uri: 'https://refresh.example.test/cb' }
    const browser = new Browser(careid.origin)
    const url = authorizeUrl(rp, { scope: 'openid profile nationalrbacaccess selectedrole', acr_values: 'AAL1_USERPASS', state: 'st', nonce: 'n' })
    const { location } = await signIn(browser, url, { username: patel.username, password: password(patel), method: 'password', role })
    // The code is redeemed in a later second than the sign-in, so the grant's creation is not its auth_time.
    await sleep(1100)
    const tokens = await redeem(rp, location)
    assert.equal(tokens.id.selected_roleid, role)
    const original = decodeJwt(tokens.access_token)
    assert.equal(original.selected_roleid, role)
    assert.equal(original.auth_time, tokens.id.auth_time)
    const originalUserinfo = await userinfo(careid, tokens.access_token)
    assert.equal(originalUserinfo.selected_roleid, role)

    let refreshToken = tokens.body.refresh_token as string
    for (const round of [1, 2]) {
      await sleep(1100)
      const response = await refresh(rp, refreshToken)
      const body = (await response.json()) as Record<string, unknown>
      assert.equal(response.status, 200, JSON.stringify(body))
      assert.equal('id_token' in body, false, 'a refresh issues no ID token (as CIS2)')
      const claims = decodeJwt(body.access_token as string)
      assert.equal(claims.grant_type, 'refresh_token')
      assert.ok((claims.iat as number) > (original.iat as number), `refresh ${round} is a new token`)
      assert.equal(claims.auth_time, tokens.id.auth_time, `refresh ${round}: the sign-in's auth_time`)
      assert.equal(claims.selected_roleid, role, `refresh ${round}: the sign-in's role`)
      assert.deepEqual(await userinfo(careid, body.access_token as string), originalUserinfo, `refresh ${round}: the same userinfo`)
      refreshToken = body.refresh_token as string
    }
    // The grant keeps the sign-in's facts as the ID token stated them.
    const grant = await careid.context.store.grants.get(original.authGrantId as string)
    const { auth_time: signedInAt, ...kept } = grant?.sign_in ?? assert.fail('the grant keeps the sign-in facts')
    assert.equal(Math.floor(signedInAt / 1000), tokens.id.auth_time)
    assert.deepEqual(kept, {
      acr: tokens.id.acr,
      amr: tokens.id.amr,
      aal: Number(tokens.id.authentication_assurance_level),
      id_assurance_level: tokens.id.id_assurance_level,
      selected_roleid: role,
    })
  })

  it('a grant stored before the sign-in facts were kept is refused at refresh (invalid_grant), not refreshed without them', async () => {
    const { client_id, client_secret } = await careid.addClient({ redirect_uris: ['https://old.example.test/cb'], token_endpoint_auth_method: 'client_secret_post', refresh_tokens: true })
    const rp: TestRp = { careid, client_id, client_secret: client_secret as string, redirect_uri: 'https://old.example.test/cb' }
    const now = Date.now()
    const store = careid.context.store
    await store.grants.put({ grant_id: 'grant-before-v4', client_id, sub: person('dr.patel').uid, sid: 'sid-before-v4', scope: 'openid', created_at: now, expires_at: now + 60 * 60_000 })
    const token = randomBytes(32).toString('base64url')
    await store.refreshTokens.put({ token_hash: sha256(token), grant_id: 'grant-before-v4', client_id, created_at: now, expires_at: now + 60 * 60_000 })
    await expectJsonError(await refresh(rp, token), { status: 400, error: 'invalid_grant' })
  })
})
