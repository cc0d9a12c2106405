/**
 * Back-channel logout: the logout token's claims (OpenID Connect Back-Channel Logout 1.0 2.4: "A
 * nonce Claim MUST NOT be present"), and the dispatcher's delivery, exponential back-off with
 * jitter, and giving up, driven by a fake clock, a fake outbox and a fake fetch.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import type { LogoutNotification, LogoutOutbox } from '@careid/ports'
import { backchannelLogoutEvent, createLogoutDispatcher, logoutTokenClaims, type LogoutSigner } from '../src/backchannel_logout.ts'
import { defaultConfig } from '../src/config.ts'

const issuer = 'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'
const t0 = 1_750_000_000_000

function notification(id: string, changes: Partial<LogoutNotification> = {}): LogoutNotification {
  return {
    id,
    client_id: '969567331415.apps.national',
    backchannel_logout_uri: `https://rp.example/bcl/${id}`,
    sub: '555254239107',
    sid: `sid-${id}`,
    created_at: t0,
    attempts: 0,
    next_attempt_at: t0,
    ...changes,
  }
}

describe('logoutTokenClaims', () => {
  const n = notification('a')
  const claims = logoutTokenClaims(n, issuer, t0 + 999)

  it('names the issuer, the client, the person and the session', () => {
    assert.equal(claims.iss, issuer)
    assert.equal(claims.aud, n.client_id)
    assert.equal(claims.sub, '555254239107')
    assert.equal(claims.sid, 'sid-a')
  })

  it('carries exactly the back-channel logout event', () => {
    assert.equal(backchannelLogoutEvent, 'http://schemas.openid.net/event/backchannel-logout')
    assert.deepEqual(claims.events, { 'http://schemas.openid.net/event/backchannel-logout': {} })
  })

  it('never has a nonce', () => {
    assert.equal('nonce' in claims, false)
  })

  it('is issued now, in seconds, and expires after it was issued', () => {
    assert.equal(claims.iat, Math.floor((t0 + 999) / 1000))
    assert.equal(typeof claims.exp, 'number')
    assert.ok((claims.exp as number) > (claims.iat as number))
  })

  it('has a fresh jti each time', () => {
    assert.equal(typeof claims.jti, 'string')
    assert.notEqual(logoutTokenClaims(n, issuer, t0).jti, logoutTokenClaims(n, issuer, t0).jti)
  })
})

/** An in-memory outbox with the contract's claim and attempt-counting semantics. */
function fakeOutbox(initial: LogoutNotification[]) {
  const rows = new Map(initial.map((n) => [n.id, { ...n }]))
  const calls: string[] = []
  const held = (id: string, node: string) => {
    const row = rows.get(id)
    return row !== undefined && row.claimed_by === node ? row : undefined
  }
  const release = (row: LogoutNotification) => {
    row.attempts += 1
    delete row.claimed_by
    delete row.claim_expires_at
  }
  const outbox: LogoutOutbox = {
    async enqueue(ns) {
      for (const n of ns) if (![...rows.values()].some((r) => r.client_id === n.client_id && r.sid === n.sid)) rows.set(n.id, { ...n })
    },
    async claimDue(node, now, leaseMs, limit) {
      calls.push(`claimDue ${node} ${now}`)
      const due = [...rows.values()]
        .filter((r) => r.delivered_at === undefined && r.gave_up_at === undefined && r.next_attempt_at <= now && (r.claimed_by === undefined || (r.claim_expires_at ?? 0) <= now))
        .sort((a, b) => a.next_attempt_at - b.next_attempt_at)
        .slice(0, limit)
      for (const r of due) {
        r.claimed_by = node
        r.claim_expires_at = now + leaseMs
      }
      return due.map((r) => ({ ...r }))
    },
    async markDelivered(id, node, now) {
      calls.push(`delivered ${id}`)
      const row = held(id, node)
      if (row === undefined) return
      release(row)
      row.delivered_at = now
    },
    async markFailed(id, node, error, nextAttemptAt) {
      calls.push(`failed ${id} ${error}`)
      const row = held(id, node)
      if (row === undefined) return
      release(row)
      row.last_error = error
      row.next_attempt_at = nextAttemptAt
    },
    async markGaveUp(id, node, error, now) {
      calls.push(`gave up ${id} ${error}`)
      const row = held(id, node)
      if (row === undefined) return
      release(row)
      row.last_error = error
      row.gave_up_at = now
    },
    async releaseClaims(node) {
      calls.push(`release ${node}`)
      for (const r of rows.values()) {
        if (r.claimed_by === node) {
          delete r.claimed_by
          delete r.claim_expires_at
        }
      }
    },
    async get(id) {
      const row = rows.get(id)
      return row === undefined ? undefined : { ...row }
    },
    async counts() {
      const all = [...rows.values()]
      return {
        pending: all.filter((r) => r.delivered_at === undefined && r.gave_up_at === undefined).length,
        delivered: all.filter((r) => r.delivered_at !== undefined).length,
        gave_up: all.filter((r) => r.gave_up_at !== undefined).length,
      }
    },
  }
  return { outbox, calls }
}

interface Sent {
  url: string
  init: RequestInit
  token: Record<string, unknown>
  typ: string
}

/** A fetch that records each request and answers with what `answer` says for that URL. */
function fakeFetch(answer: (url: string) => number | Error) {
  const sent: Sent[] = []
  const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input)
    const body = new URLSearchParams(String(init?.body))
    const { payload, typ } = JSON.parse(body.get('logout_token') as string) as { payload: Record<string, unknown>; typ: string }
    sent.push({ url, init: init as RequestInit, token: payload, typ })
    const result = answer(url)
    if (result instanceof Error) throw result
    return new Response(result === 204 ? null : 'ok', { status: result })
  }) as typeof fetch
  return { fetchFn, sent }
}

/** A signer whose "token" is readable JSON, so the test can see what was signed and with which typ. */
const signer: LogoutSigner = { sign: (payload, typ) => JSON.stringify({ payload, typ }) }

function setup(t: TestContext, items: LogoutNotification[], answer: (url: string) => number | Error, random = 0) {
  t.mock.method(Math, 'random', () => random)
  let now = t0
  const { outbox, calls } = fakeOutbox(items)
  const { fetchFn, sent } = fakeFetch(answer)
  const counts = { delivered: 0, failed: 0, gaveUp: 0 }
  const config = { ...defaultConfig(issuer), logoutRetryBaseMs: 1_000, logoutRetryMaxMs: 8_000, logoutGiveUpMs: 60_000 }
  const dispatcher = createLogoutDispatcher({
    outbox,
    signer,
    config,
    node: 'node-1',
    now: () => now,
    fetch: fetchFn,
    metrics: { delivered: () => counts.delivered++, failed: () => counts.failed++, gaveUp: () => counts.gaveUp++ },
  })
  return {
    dispatcher,
    outbox,
    calls,
    sent,
    counts,
    setNow: (ms: number) => {
      now = ms
    },
  }
}

describe('createLogoutDispatcher', () => {
  it('posts a freshly signed logout token as a form and marks it delivered on 2xx', async (t) => {
    const s = setup(t, [notification('a')], () => 200)
    assert.equal(await s.dispatcher.runOnce(), 1)
    assert.equal(s.sent.length, 1)
    const [first] = s.sent
    assert.ok(first)
    assert.equal(first.url, 'https://rp.example/bcl/a')
    assert.equal(first.init.method, 'POST')
    assert.deepEqual(first.init.headers, { 'content-type': 'application/x-www-form-urlencoded' })
    assert.equal(first.init.redirect, 'manual', 'a redirect is not followed: the logout URI is the registered one')
    assert.ok(first.init.signal instanceof AbortSignal, 'each attempt has a timeout')
    assert.equal(first.typ, 'logout+jwt')
    assert.equal(first.token.iss, issuer)
    assert.equal(first.token.sid, 'sid-a')
    assert.equal('nonce' in first.token, false)
    const stored = await s.outbox.get('a')
    assert.equal(stored?.delivered_at, t0)
    assert.equal(stored?.attempts, 1)
    assert.deepEqual(s.counts, { delivered: 1, failed: 0, gaveUp: 0 })
    assert.equal(await s.dispatcher.runOnce(), 0, 'a delivered notification is not sent again')
    assert.equal(s.sent.length, 1)
  })

  it('treats any 2xx as delivered', async (t) => {
    const s = setup(t, [notification('a')], () => 204)
    await s.dispatcher.runOnce()
    assert.equal((await s.outbox.get('a'))?.delivered_at, t0)
  })

  it('retries a failure with exponential back-off, jitter between half and all of it, up to the cap', async (t) => {
    // Math.random() = 0: the delay is exactly half the back-off.
    const s = setup(t, [notification('a')], () => 503, 0)
    const expected = [500, 1_000, 2_000, 4_000, 4_000, 4_000] // base 1 s doubling, capped at 8 s, halved by the jitter
    let now = t0
    for (const [attempt, delay] of expected.entries()) {
      s.setNow(now)
      assert.equal(await s.dispatcher.runOnce(), 1, `attempt ${attempt + 1}`)
      const row = await s.outbox.get('a')
      assert.equal(row?.attempts, attempt + 1)
      assert.equal(row?.last_error, 'HTTP 503')
      assert.equal(row?.next_attempt_at, now + delay, `attempt ${attempt + 1} waits ${delay} ms`)
      s.setNow(now + delay - 1)
      assert.equal(await s.dispatcher.runOnce(), 0, 'not due before its time')
      now += delay
    }
    assert.equal(s.counts.failed, expected.length)
    assert.equal(s.counts.delivered, 0)
  })

  it('waits the whole back-off at the top of the jitter', async (t) => {
    const s = setup(t, [notification('a', { attempts: 2 })], () => 500, 0.999_999)
    await s.dispatcher.runOnce()
    const next = (await s.outbox.get('a'))?.next_attempt_at as number
    // attempts 2: back-off 4 s; the jitter keeps the delay within [2 s, 4 s], here at its top.
    const delay = next - t0
    assert.ok(delay >= 3_999 && delay <= 4_000, String(delay))
  })

  it('signs again at each attempt, so a late delivery carries a fresh iat', async (t) => {
    let status = 503
    const s = setup(t, [notification('a')], () => status)
    await s.dispatcher.runOnce()
    s.setNow(t0 + 30_000)
    status = 200
    await s.dispatcher.runOnce()
    assert.equal(s.sent.length, 2)
    assert.equal(s.sent[0]?.token.iat, t0 / 1000)
    assert.equal(s.sent[1]?.token.iat, t0 / 1000 + 30)
    assert.notEqual(s.sent[0]?.token.jti, s.sent[1]?.token.jti)
    assert.equal((await s.outbox.get('a'))?.delivered_at, t0 + 30_000)
  })

  it('records the class of failure, never a body: redirects, network errors and timeouts', async (t) => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    const s = setup(t, [notification('redirect'), notification('network'), notification('timeout')], (url) =>
      url.endsWith('/redirect') ? 302 : url.endsWith('/network') ? new TypeError('fetch failed') : timeout,
    )
    assert.equal(await s.dispatcher.runOnce(), 3)
    assert.equal((await s.outbox.get('redirect'))?.last_error, 'HTTP 302')
    assert.equal((await s.outbox.get('network'))?.last_error, 'network error')
    assert.equal((await s.outbox.get('timeout'))?.last_error, 'timeout')
    assert.equal(s.counts.failed, 3)
  })

  it('gives up once the notification is older than the give-up time, and never sends it again', async (t) => {
    const s = setup(t, [notification('a', { attempts: 9, next_attempt_at: t0 + 59_999 })], () => 503)
    s.setNow(t0 + 59_999)
    await s.dispatcher.runOnce()
    assert.equal((await s.outbox.get('a'))?.gave_up_at, undefined, 'just under the give-up time: retried')
    const row = await s.outbox.get('a')
    s.setNow(row?.next_attempt_at as number)
    assert.ok((row?.next_attempt_at as number) - t0 >= 60_000)
    assert.equal(await s.dispatcher.runOnce(), 1, 'the last attempt is still made')
    const given = await s.outbox.get('a')
    assert.equal(given?.gave_up_at, row?.next_attempt_at)
    assert.equal(given?.last_error, 'HTTP 503')
    assert.deepEqual(s.counts, { delivered: 0, failed: 1, gaveUp: 1 })
    s.setNow(t0 + 10 * 60_000)
    assert.equal(await s.dispatcher.runOnce(), 0)
    assert.equal(s.sent.length, 2)
  })

  it('a success on the last attempt is still a delivery', async (t) => {
    const s = setup(t, [notification('a', { next_attempt_at: t0 + 120_000 })], () => 200)
    s.setNow(t0 + 120_000)
    await s.dispatcher.runOnce()
    const row = await s.outbox.get('a')
    assert.equal(row?.delivered_at, t0 + 120_000)
    assert.equal(row?.gave_up_at, undefined)
  })

  it('sends only what is due, and one failing relying party does not hold up the others', async (t) => {
    const s = setup(t, [notification('down'), notification('up'), notification('later', { next_attempt_at: t0 + 5_000 })], (url) => (url.endsWith('/down') ? 500 : 200))
    assert.equal(await s.dispatcher.runOnce(), 2)
    assert.deepEqual(s.sent.map((x) => x.url).sort(), ['https://rp.example/bcl/down', 'https://rp.example/bcl/up'])
    assert.ok((await s.outbox.get('up'))?.delivered_at !== undefined)
    assert.equal((await s.outbox.get('down'))?.last_error, 'HTTP 500')
    assert.equal((await s.outbox.get('later'))?.attempts, 0)
  })

  it('stop() releases the node\'s claims', async (t) => {
    const s = setup(t, [notification('a')], () => 200)
    await s.dispatcher.stop()
    assert.deepEqual(s.calls, ['release node-1'])
  })

  it('stop() abandons an attempt in flight without counting it, and releases its claim for another node at once', async () => {
    const { outbox, calls } = fakeOutbox([notification('a')])
    let sent = 0
    // A relying party that never answers: only the attempt's signal ends the request.
    const hanging = ((_input: string | URL | Request, init?: RequestInit) => {
      sent++
      return new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))
    }) as typeof fetch
    const counts = { delivered: 0, failed: 0, gaveUp: 0 }
    const config = { ...defaultConfig(issuer), logoutRetryBaseMs: 1_000, logoutRetryMaxMs: 8_000, logoutGiveUpMs: 60_000 }
    const metrics = { delivered: () => counts.delivered++, failed: () => counts.failed++, gaveUp: () => counts.gaveUp++ }
    const dispatcher = createLogoutDispatcher({ outbox, signer, config, node: 'node-1', now: () => t0, fetch: hanging, metrics })
    dispatcher.start(1)
    for (let i = 0; i < 200 && sent === 0; i++) await new Promise((r) => setTimeout(r, 5))
    assert.equal(sent, 1)
    assert.equal((await outbox.get('a'))?.claimed_by, 'node-1')
    await dispatcher.stop()
    assert.deepEqual(calls, [`claimDue node-1 ${t0}`, 'release node-1'], 'neither failed nor delivered')
    assert.deepEqual(counts, { delivered: 0, failed: 0, gaveUp: 0 })
    const row = await outbox.get('a')
    assert.equal(row?.claimed_by, undefined)
    assert.equal(row?.attempts, 0)
    assert.equal(row?.last_error, undefined)
    const other = createLogoutDispatcher({ outbox, signer, config, node: 'node-2', now: () => t0, fetch: fakeFetch(() => 200).fetchFn })
    assert.equal(await other.runOnce(), 1, 'due at once on another node, not when the lease ends')
    assert.equal((await outbox.get('a'))?.delivered_at, t0)
  })

  it('start() runs in the background until stopped', async (t) => {
    const s = setup(t, [notification('a')], () => 200)
    s.dispatcher.start(1)
    for (let i = 0; i < 200 && (await s.outbox.get('a'))?.delivered_at === undefined; i++) await new Promise((r) => setTimeout(r, 5))
    await s.dispatcher.stop()
    assert.equal((await s.outbox.get('a'))?.delivered_at, t0)
    assert.equal(s.calls.at(-1), 'release node-1')
  })
})
