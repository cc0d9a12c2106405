/**
 * SSO sessions over HTTP: single sign-on across relying parties, the session cookie's attributes,
 * what the store keeps of the cookie (its hash only), idle and absolute limits by assurance level,
 * and back-channel logout to every relying party that took part, through the durable outbox
 * (retries until delivered, exactly once; give-up; metrics).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Person } from '@careid/domain'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { Browser, form, type Landing, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { signIn } from '../support/journey.ts'
import { addRp, authorizeUrl, baseUrl, callbackParams, redeem, verifyJwt, type TestRp } from '../support/rp.ts'
import { password, person } from '../support/demo_people.ts'

const cis2Path = '/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function shown(landing: Landing): PageResult {
  assert.ok(landing.page, `expected a page, was redirected to ${landing.location}`)
  return landing.page
}

/** The attributes of the Set-Cookie line for `name`, lower-cased, with the value. */
function setCookie(headers: Headers, name: string): { value: string; attributes: Map<string, string> } {
  const line = headers.getSetCookie().find((l) => l.startsWith(`${name}=`))
  assert.ok(line, `no Set-Cookie for ${name} in ${JSON.stringify(headers.getSetCookie())}`)
  const [pair = '', ...rest] = line.split(';')
  const attributes = new Map<string, string>()
  for (const a of rest) {
    const eq = a.indexOf('=')
    attributes.set((eq < 0 ? a : a.slice(0, eq)).trim().toLowerCase(), eq < 0 ? '' : a.slice(eq + 1).trim())
  }
  return { value: pair.slice(name.length + 1), attributes }
}

/** A password sign-in step by step, keeping the responses that set the two cookies. */
async function signInKeepingHeaders(browser: Browser, url: string, p: Person) {
  const authorize = await browser.fetch(url)
  await authorize.body?.cancel()
  assert.equal(authorize.status, 302)
  const page = shown(await browser.go(new URL(authorize.headers.get('location') as string, url).href))
  const f = form(page, '/authenticate')
  const signedIn = await browser.fetch(f.action, { form: { ...f.fields, username: p.username, password: password(p) } })
  await signedIn.body?.cancel()
  assert.equal(signedIn.status, 303)
  return { authorize: authorize.headers, signedIn: signedIn.headers, location: signedIn.headers.get('location') ?? undefined }
}

/** The value of careid_backchannel_logout_total for an outcome (0 before the first). */
async function logoutMetric(careid: TestCareid, outcome: 'delivered' | 'failed' | 'gave_up'): Promise<number> {
  const body = await careid.metrics()
  const m = new RegExp(`^careid_backchannel_logout_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(body)
  return m === null ? 0 : Number(m[1])
}

/** Runs the outbox (as the background loop would, sooner) until `done` holds. */
async function driveOutbox(careid: TestCareid, done: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    await careid.provider.dispatcher.runOnce()
    if (await done()) return
    await sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

function endSessionUrl(careid: TestCareid, idToken: string): string {
  return `${baseUrl(careid)}/connect/endSession?${new URLSearchParams({ id_token_hint: idToken })}`
}

describe('sessions', () => {
  const receivers: Receiver[] = []
  async function receiver(): Promise<Receiver> {
    const r = await startReceiver()
    receivers.push(r)
    return r
  }
  after(async () => {
    await Promise.all(receivers.map((r) => r.close()))
  })

  describe('with the default limits', () => {
    let careid: TestCareid

    before(async () => {
      careid = await startTestCareid()
    })
    after(async () => {
      await careid.close()
    })

    function url(rp: TestRp, params: Record<string, string> = {}): string {
      return authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL1_USERPASS', state: 'st', ...params })
    }

    it('single sign-on: a second client gets a code with no pages, in the same session', async () => {
      const a = await addRp(careid)
      const b = await addRp(careid)
      const nurse = person('nurse.jones')
      const browser = new Browser(careid.origin)
      const first = await signIn(browser, url(a), { username: nurse.username, password: password(nurse) })
      assert.equal(first.pages.length, 1)
      const sso = await browser.go(url(b, { state: 'b' }))
      assert.equal(sso.page, undefined, 'no page for the second client')
      assert.equal(callbackParams(b, sso.location).get('state'), 'b')
      const ta = await redeem(a, first.location)
      const tb = await redeem(b, sso.location)
      assert.equal(tb.id.sid, ta.id.sid)
      assert.equal(tb.id.sub, nurse.uid)
      assert.equal(tb.id.auth_time, ta.id.auth_time, 'no new authentication')
      assert.equal(tb.id.aud, b.client_id)

      // A browser without the cookie is asked to sign in.
      const stranger = await new Browser(careid.origin).go(url(b))
      assert.equal(stranger.location, undefined)
      assert.ok(shown(stranger).html.includes('name="password"'))
    })

    it('cookies over http: HttpOnly, SameSite=Lax, the issuer path, no Secure; cleared at logout', async () => {
      const rp = await addRp(careid)
      const patel = person('dr.patel')
      const browser = new Browser(careid.origin)
      const { authorize, signedIn, location } = await signInKeepingHeaders(browser, url(rp), patel)
      const journeyCookie = setCookie(authorize, 'careid_browser')
      const session = setCookie(signedIn, 'careid_session')
      for (const cookie of [journeyCookie, session]) {
        assert.equal(cookie.attributes.has('httponly'), true)
        assert.equal(cookie.attributes.get('samesite'), 'Lax')
        assert.equal(cookie.attributes.get('path'), cis2Path)
        assert.equal(cookie.attributes.has('secure'), false, 'no Secure on plain http')
      }
      // The session cookie lasts as long as the session may (12 h absolute at AAL1), no longer.
      const maxAge = Number(session.attributes.get('max-age'))
      assert.ok(maxAge > 12 * 3600 - 60 && maxAge <= 12 * 3600, `max-age ${maxAge}`)

      const tokens = await redeem(rp, location)
      const out = await browser.fetch(endSessionUrl(careid, tokens.id_token))
      await out.body?.cancel()
      assert.equal(out.status, 200)
      const cleared = setCookie(out.headers, 'careid_session')
      assert.equal(cleared.value, '')
      assert.equal(cleared.attributes.get('path'), cis2Path)
      assert.ok(cleared.attributes.get('max-age') === '0' || /1970/.test(cleared.attributes.get('expires') ?? ''), 'expired')
    })

    it('the store keeps only the hash of the session secret; the raw cookie value is nowhere in the database files', async () => {
      const rp = await addRp(careid)
      const taylor = person('midwife.taylor')
      const browser = new Browser(careid.origin)
      const { location } = await signIn(browser, url(rp), { username: taylor.username, password: password(taylor) })
      const tokens = await redeem(rp, location)
      const secret = browser.cookies.get('careid_session') as string
      const journeySecret = browser.cookies.get('careid_browser') as string
      assert.ok(secret.length >= 43, 'a 256-bit secret')

      const stored = await careid.context.store.sessions.get(sha256(secret))
      assert.ok(stored, 'found by the SHA-256 of the cookie')
      assert.equal(stored.sid, tokens.id.sid)
      assert.equal(stored.sub, taylor.uid)
      assert.equal(stored.session_hash, sha256(secret))
      assert.equal(await careid.context.store.sessions.get(secret), undefined, 'not by the cookie itself')

      const files = ['careid.db', 'careid.db-wal'].map((f) => join(careid.dataDir, f)).filter((f) => existsSync(f))
      const bytes = Buffer.concat(files.map((f) => readFileSync(f)))
      // The search finds what is stored (the sid, the hash): so not finding the secret means something.
      assert.ok(bytes.includes(Buffer.from(stored.sid)), 'the sid is in the files')
      assert.ok(bytes.includes(Buffer.from(sha256(secret))), 'the hash is in the files')
      assert.equal(bytes.includes(Buffer.from(secret)), false, 'the session secret is not')
      assert.equal(bytes.includes(Buffer.from(journeySecret)), false, 'nor the journey-binding secret')
    })

    it('a step-up from AAL1 to AAL2 gives the session a new cookie secret, keeps its sid, and refuses the old cookie', async () => {
      const rp = await addRp(careid)
      const walker = person('dentist.walker')
      const browser = new Browser(careid.origin)
      const first = await redeem(rp, (await signIn(browser, url(rp), { username: walker.username, password: password(walker) })).location)
      const aal1Secret = browser.cookies.get('careid_session') as string
      assert.equal(first.id.authentication_assurance_level, '1')

      const stepUp = await signIn(browser, url(rp, { acr_values: 'AAL2_TOTP' }), { username: walker.username, password: password(walker), code: () => careid.totp(walker.uid) })
      const second = await redeem(rp, stepUp.location)
      const aal2Secret = browser.cookies.get('careid_session') as string
      assert.equal(second.id.authentication_assurance_level, '2')
      assert.equal(second.id.sid, first.id.sid, 'the same session')
      assert.notEqual(aal2Secret, aal1Secret, 'a new cookie secret')
      assert.equal(await careid.context.store.sessions.get(sha256(aal1Secret)), undefined, 'the store no longer knows the old secret')
      assert.equal((await careid.context.store.sessions.get(sha256(aal2Secret)))?.sid, first.id.sid)

      // Someone holding only the old cookie value gets no session, at either level.
      const stale = new Browser(careid.origin)
      stale.cookies.set('careid_session', aal1Secret)
      for (const acr of ['AAL1_USERPASS', 'AAL2_TOTP']) {
        const response = await stale.fetch(url(rp, { prompt: 'none', acr_values: acr, state: 'old' }))
        await response.body?.cancel()
        assert.equal(response.status, 302)
        const params = callbackParams(rp, response.headers.get('location') ?? undefined)
        assert.equal(params.get('error'), 'login_required')
        assert.equal(params.get('code'), null)
      }
      // The browser that stepped up goes on in the same session.
      const sso = await browser.fetch(url(rp, { prompt: 'none', acr_values: 'AAL2_TOTP', state: 'new' }))
      await sso.body?.cancel()
      assert.equal((await redeem(rp, sso.headers.get('location') ?? undefined)).id.sid, first.id.sid)
    })

    it('logout at one relying party sends a back-channel logout to every relying party that took part, and none to others', async () => {
      const [ra, rb, rc] = [await receiver(), await receiver(), await receiver()]
      const a = await addRp(careid, { backchannel_logout_uri: ra.url })
      const b = await addRp(careid, { backchannel_logout_uri: rb.url })
      const c = await addRp(careid, { backchannel_logout_uri: rc.url })
      const whitfield = person('ra.whitfield')
      const browser = new Browser(careid.origin)
      const ta = await redeem(a, (await signIn(browser, url(a), { username: whitfield.username, password: password(whitfield) })).location)
      const tb = await redeem(b, (await browser.go(url(b))).location)
      assert.equal(tb.id.sid, ta.id.sid)
      // Client c is used in another session, by someone else: it takes no part in this one.
      await redeem(c, (await signIn(new Browser(careid.origin), url(c), { username: 'dr.hughes', password: password(person('dr.hughes')) })).location)

      const out = shown(await browser.go(endSessionUrl(careid, ta.id_token)))
      assert.equal(out.status, 200, 'signed out page')
      await driveOutbox(careid, () => ra.tokens.length > 0 && rb.tokens.length > 0, 'both logout tokens')
      const [tokenA] = ra.tokens
      const [tokenB] = rb.tokens
      for (const [token, rp] of [
        [tokenA, a],
        [tokenB, b],
      ] as const) {
        const { payload, header } = await verifyJwt(careid, token as string)
        assert.equal(header.typ, 'logout+jwt')
        assert.equal(payload.iss, careid.issuer)
        assert.equal(payload.aud, rp.client_id)
        assert.equal(payload.sub, whitfield.uid)
        assert.equal(payload.sid, ta.id.sid)
        assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} })
        assert.equal('nonce' in payload, false)
      }
      // Both notifications went out together; anything owed to c would have gone with them.
      assert.equal(await careid.provider.dispatcher.runOnce(), 0, 'nothing else due')
      assert.equal(rc.tokens.length, 0)
      assert.equal(ra.tokens.length, 1)
      assert.equal(rb.tokens.length, 1)

      // The session is over for both clients.
      const none = await browser.fetch(url(b, { prompt: 'none', state: 'after' }))
      await none.body?.cancel()
      assert.equal(none.status, 302)
      const params = callbackParams(b, none.headers.get('location') ?? undefined)
      assert.equal(params.get('error'), 'login_required')
      assert.equal(params.get('state'), 'after')
    })

    it('the outbox retries a relying party answering 503 until it answers 200, and delivers exactly once', async () => {
      const flaky = await receiver()
      flaky.status = 503
      const rp = await addRp(careid, { backchannel_logout_uri: flaky.url })
      const before = { delivered: await logoutMetric(careid, 'delivered'), failed: await logoutMetric(careid, 'failed'), counts: await careid.context.store.outbox.counts() }
      const browser = new Browser(careid.origin)
      const brown = person('reception.brown')
      const tokens = await redeem(rp, (await signIn(browser, url(rp), { username: brown.username, password: password(brown) })).location)
      shown(await browser.go(endSessionUrl(careid, tokens.id_token)))

      await driveOutbox(careid, async () => (await logoutMetric(careid, 'failed')) >= before.failed + 2, 'two failed attempts')
      assert.equal(flaky.tokens.length, 0)
      assert.equal((await careid.context.store.outbox.counts()).pending, before.counts.pending + 1, 'still owed')

      flaky.status = 200
      await driveOutbox(careid, () => flaky.tokens.length > 0, 'the delivery')
      // Nothing more is due however often the outbox runs: delivered once, not again.
      for (let i = 0; i < 3; i++) assert.equal(await careid.provider.dispatcher.runOnce(), 0)
      assert.equal(flaky.tokens.length, 1)
      const { payload } = await verifyJwt(careid, flaky.tokens[0] as string)
      assert.equal(payload.sid, tokens.id.sid)
      assert.equal(await logoutMetric(careid, 'delivered'), before.delivered + 1)
      const counts = await careid.context.store.outbox.counts()
      assert.equal(counts.delivered, before.counts.delivered + 1)
      assert.equal(counts.pending, before.counts.pending)
      assert.equal(counts.gave_up, 0)
    })
  })

  describe('with an https issuer', () => {
    let careid: TestCareid

    before(async () => {
      careid = await startTestCareid({ issuer: () => `https://careid.example.test${cis2Path}` })
    })
    after(async () => {
      await careid.close()
    })

    it('both cookies are Secure, HttpOnly, SameSite=Lax on the issuer path', async () => {
      const rp = await addRp(careid)
      const { authorize, signedIn, location } = await signInKeepingHeaders(
        new Browser(careid.origin),
        authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL1_USERPASS' }),
        person('nurse.jones'),
      )
      for (const cookie of [setCookie(authorize, 'careid_browser'), setCookie(signedIn, 'careid_session')]) {
        assert.equal(cookie.attributes.has('secure'), true)
        assert.equal(cookie.attributes.has('httponly'), true)
        assert.equal(cookie.attributes.get('samesite'), 'Lax')
        assert.equal(cookie.attributes.get('path'), cis2Path)
      }
      assert.equal(new URL(location as string).searchParams.get('iss'), `https://careid.example.test${cis2Path}`)
    })
  })

  describe('with short limits', () => {
    // AAL1: 800 ms idle. AAL2: idle longer than its 3 s absolute limit, so the absolute limit is what
    // ends it. Notifications are given up 800 ms after the session ends (deliveries to receivers
    // answering 200 succeed at the first attempt, so only the give-up test is affected).
    const limits = {
      1: { idleMs: 800, absoluteMs: 5_000 },
      2: { idleMs: 60_000, absoluteMs: 3_000 },
      3: { idleMs: 60_000, absoluteMs: 3_000 },
    }
    let careid: TestCareid

    before(async () => {
      careid = await startTestCareid({ config: { sessionLimits: limits, logoutGiveUpMs: 800 } })
    })
    after(async () => {
      await careid.close()
    })

    function url(rp: TestRp, params: Record<string, string> = {}): string {
      return authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL1_USERPASS', state: 'st', ...params })
    }

    async function promptNone(browser: Browser, rp: TestRp, acr: string): Promise<URLSearchParams> {
      const response = await browser.fetch(url(rp, { prompt: 'none', acr_values: acr, state: 'pn' }))
      await response.body?.cancel()
      assert.equal(response.status, 302)
      return callbackParams(rp, response.headers.get('location') ?? undefined)
    }

    it('idle timeout: past the idle limit the session ends, prompt=none gets login_required, every client is logged out', async () => {
      const [r1, r2] = [await receiver(), await receiver()]
      const a = await addRp(careid, { backchannel_logout_uri: r1.url })
      const b = await addRp(careid, { backchannel_logout_uri: r2.url })
      const patel = person('dr.patel')
      const browser = new Browser(careid.origin)
      const first = await signIn(browser, url(a), { username: patel.username, password: password(patel) })
      const sso = await browser.go(url(b))
      assert.equal(sso.page, undefined, 'single sign-on within the idle limit')
      const ta = await redeem(a, first.location)
      await redeem(b, sso.location)
      const sid = ta.id.sid as string

      const session = await careid.context.store.sessions.getBySid(sid)
      assert.ok(session)
      assert.equal(session.aal, 1)
      assert.equal(session.idle_expires_at - session.last_seen_at, limits[1].idleMs, 'the AAL1 idle limit')
      assert.equal(session.expires_at - session.auth_time, limits[1].absoluteMs, 'the AAL1 absolute limit')

      await sleep(session.idle_expires_at - Date.now() + 50)
      await careid.provider.maintain()
      assert.equal(await careid.context.store.sessions.getBySid(sid), undefined, 'swept')
      await driveOutbox(careid, () => r1.tokens.length > 0 && r2.tokens.length > 0, 'both logout tokens')
      for (const [r, rp] of [
        [r1, a],
        [r2, b],
      ] as const) {
        assert.equal(r.tokens.length, 1)
        const [token] = r.tokens
        const { payload } = await verifyJwt(careid, token as string)
        assert.equal(payload.sid, sid)
        assert.equal(payload.aud, rp.client_id)
        assert.equal(payload.sub, patel.uid)
      }
      const params = await promptNone(browser, a, 'AAL1_USERPASS')
      assert.equal(params.get('error'), 'login_required')
      assert.equal(params.get('state'), 'pn')
    })

    it('absolute timeout and AAL-dependent limits: an AAL2 session outlives the AAL1 idle limit, then ends at its absolute limit', async () => {
      const [r, r2] = [await receiver(), await receiver()]
      const rp = await addRp(careid, { backchannel_logout_uri: r.url })
      const rp2 = await addRp(careid, { backchannel_logout_uri: r2.url })
      const walker = person('dentist.walker')
      const browser = new Browser(careid.origin)
      const signedIn = await signIn(browser, url(rp, { acr_values: 'AAL2_TOTP' }), {
        username: walker.username,
        password: password(walker),
        code: () => careid.totp(walker.uid),
      })
      const sso = await browser.go(url(rp2, { acr_values: 'AAL2_TOTP' }))
      assert.equal(sso.page, undefined, 'single sign-on for the second client')
      const tokens = await redeem(rp, signedIn.location)
      assert.equal((await redeem(rp2, sso.location)).id.sid, tokens.id.sid)
      assert.equal(tokens.id.authentication_assurance_level, '2')
      const sid = tokens.id.sid as string
      const session = await careid.context.store.sessions.getBySid(sid)
      assert.ok(session)
      assert.equal(session.aal, 2)
      // The AAL2 limits, not AAL1's: the idle limit reaches the absolute one (3 s), not 800 ms.
      assert.equal(session.expires_at - session.auth_time, limits[2].absoluteMs)
      assert.equal(session.idle_expires_at, session.expires_at)
      assert.notEqual(session.idle_expires_at - session.last_seen_at, limits[1].idleMs)

      // Past what an AAL1 session could idle, this one still answers.
      await sleep(session.last_seen_at + limits[1].idleMs + 200 - Date.now())
      await careid.provider.maintain()
      const alive = await browser.go(url(rp, { prompt: 'none', acr_values: 'AAL2_TOTP' }))
      assert.equal((await redeem(rp, alive.location)).id.sid, sid)
      assert.equal(r.tokens.length + r2.tokens.length, 0, 'nobody logged out yet')

      // Past the absolute limit, a request finds it over (no sweep needed) and the client is told.
      await sleep(session.expires_at - Date.now() + 50)
      const params = await promptNone(browser, rp, 'AAL2_TOTP')
      assert.equal(params.get('error'), 'login_required')
      assert.equal(params.get('state'), 'pn')
      await driveOutbox(careid, () => r.tokens.length > 0 && r2.tokens.length > 0, 'both logout tokens')
      for (const [receiverOf, client] of [
        [r, rp],
        [r2, rp2],
      ] as const) {
        assert.equal(receiverOf.tokens.length, 1)
        const { payload } = await verifyJwt(careid, receiverOf.tokens[0] as string)
        assert.equal(payload.sid, sid)
        assert.equal(payload.aud, client.client_id)
      }
      assert.equal(await careid.context.store.sessions.getBySid(sid), undefined)
    })

    it('a relying party that never answers 2xx is given up after logoutGiveUpMs: no more attempts, counted in the metrics', async () => {
      const dead = await receiver()
      dead.status = 503
      const rp = await addRp(careid, { backchannel_logout_uri: dead.url })
      const hughes = person('dr.hughes')
      const browser = new Browser(careid.origin)
      const tokens = await redeem(rp, (await signIn(browser, url(rp), { username: hughes.username, password: password(hughes) })).location)
      shown(await browser.go(endSessionUrl(careid, tokens.id_token)))

      await driveOutbox(careid, async () => (await logoutMetric(careid, 'gave_up')) >= 1, 'the give-up')
      assert.ok((await logoutMetric(careid, 'failed')) >= 1, 'failed attempts came first')
      const counts = await careid.context.store.outbox.counts()
      assert.equal(counts.gave_up, 1)
      assert.equal(counts.pending, 0)

      // Given up means given up: even once the relying party recovers, nothing is sent.
      const failed = await logoutMetric(careid, 'failed')
      dead.status = 200
      for (let i = 0; i < 3; i++) assert.equal(await careid.provider.dispatcher.runOnce(), 0)
      assert.equal(dead.tokens.length, 0)
      assert.equal(await logoutMetric(careid, 'failed'), failed)
      assert.equal(await logoutMetric(careid, 'gave_up'), 1)
    })
  })
})
