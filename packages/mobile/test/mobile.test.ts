/**
 * The mobile app plugin over the embedded store: registration links, device calls, sign-in
 * requests matched by number and approved with the device's biometric, and what revocation ends.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { after, before, beforeEach, describe, it } from 'node:test'
import { createDirectory, demoWorkforce } from '@careid/domain'
import { OAuthError, type Authenticator, type Json, type PluginRoute, type Store, type StepView } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import { createDevices, createRequests, declineWaiting, mobilePaths, mobilePlugin, requestsPerMinute, requestTtlMs, type MobileContext } from '../src/index.ts'
import { softDevice, type SoftDevice } from './support/soft_device.ts'

const issuer = 'http://localhost:4000'
const [ada, ben] = demoWorkforce as [(typeof demoWorkforce)[number], (typeof demoWorkforce)[number]]
const ACTOR = 'cli:ra.whitfield'

let store: Store
let clock: number
let routes: Map<string, PluginRoute>
let authenticator: Authenticator
const ended: string[] = []

function context(s: Store): MobileContext {
  return { people: s.people, credentials: s.credentials, interactions: s.interactions, replay: s.replay, rates: s.rates, audit: s.audit, transaction: (work) => s.transaction(work) }
}

before(async () => {
  store = await openSqliteStore({ path: ':memory:' })
  for (const person of demoWorkforce) await store.people.put(person.uid, person.username, person as never)
})
after(() => store.close())

let test = 0
beforeEach(() => {
  // Each test in a window of its own for the per-worker limit on requests.
  clock = Date.now() + ++test * 10 * 60_000
  ended.length = 0
  const plugin = mobilePlugin({
    provider: {
      config: { issuer } as never,
      sessions: {
        endByBinding: async (binding: string) => {
          ended.push(binding)
          return 1
        },
      } as never,
    },
    store: context(store),
    directory: createDirectory(),
    now: () => clock,
    longPollMs: 1_500,
  })
  routes = new Map((plugin.routes ?? []).map((r) => [r.path, r]))
  authenticator = plugin.authenticators[0] as Authenticator
})

function call(path: string, body: unknown, signal = new AbortController().signal): Promise<object> {
  const route = routes.get(path)
  assert.ok(route, `no route ${path}`)
  return route.handle({ body, header: (name) => (name === 'user-agent' ? 'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)' : undefined), source: '192.0.2.7', signal })
}

async function refused(work: Promise<unknown>, status: number, error: string, reason?: string): Promise<void> {
  await assert.rejects(work, (e: unknown) => {
    assert.ok(e instanceof OAuthError, String(e))
    assert.equal(e.status, status)
    assert.equal(e.error, error)
    if (reason !== undefined) assert.equal(e.fields?.reason, reason)
    return true
  })
}

/** Registers and confirms a device of `uid` end to end; returns it. */
async function activeDevice(uid = ada.uid): Promise<SoftDevice> {
  const device = softDevice({ origin: issuer, now: () => clock })
  const { token } = await createDevices(store.credentials).invite(uid, ACTOR, clock)
  const { options: creation } = (await call(mobilePaths.registerOptions, { token })) as { options: { challenge: string } }
  const registered = (await call(mobilePaths.register, { token, key: device.publicJwk(), attestation: device.attestation(creation), name: 'Ward 7 iPad' })) as { device_id: string; code: string }
  device.id = registered.device_id
  const confirmed = await createDevices(store.credentials).confirm(uid, registered.code, ACTOR, clock)
  assert.equal(confirmed.outcome, 'confirmed')
  return device
}

async function signIn(username: string): Promise<{ state: Json; view: StepView }> {
  const started = await authenticator.start({ now: clock })
  const result = await authenticator.submit({ now: clock, source: '192.0.2.9', client: { client_id: 'app', client_name: 'Patient Records' } }, started.state, { username })
  assert.equal(result.type, 'continue')
  if (result.type !== 'continue') throw new Error('unreachable')
  return { state: result.state, view: result.view }
}

type Shown = { id: string; client_name: string; organisations: string[]; webauthn: { challenge: string } }

async function pending(device: SoftDevice, known: string[] = []): Promise<Shown[]> {
  return ((await call(mobilePaths.requests, { jws: await device.call(issuer + mobilePaths.requests, { known }) })) as { requests: Shown[] }).requests
}

async function approve(device: SoftDevice, request: Shown, number: string): Promise<object> {
  return call(mobilePaths.approve, { jws: await device.call(issuer + mobilePaths.approve, { request: request.id, number, assertion: device.assertion(request.webauthn) }) })
}

function numberOf(view: StepView): string {
  assert.equal(view.page, 'mobile_wait')
  return (view.data as { number: string }).number
}

const otherNumber = (n: string) => String(((Number(n) - 10 + 1) % 90) + 10)

describe('registration links', () => {
  it('register a device once: the link is single use, and the RA confirms the code the device shows', async () => {
    const device = softDevice({ origin: issuer, now: () => clock })
    const { token, device: invited } = await createDevices(store.credentials).invite(ben.uid, ACTOR, clock)
    assert.equal(invited.status, 'invited')
    const { options } = (await call(mobilePaths.registerOptions, { token })) as { options: { challenge: string; authenticatorSelection: { userVerification: string; authenticatorAttachment: string } } }
    assert.equal(options.authenticatorSelection.userVerification, 'required')
    assert.equal(options.authenticatorSelection.authenticatorAttachment, 'platform')
    const registered = (await call(mobilePaths.register, { token, key: device.publicJwk(), attestation: device.attestation(options), name: ' Ward 7 iPad\u001b[2J\n' })) as { device_id: string; code: string }
    assert.match(registered.code, /^[0-9]{6}$/)
    assert.equal(registered.device_id, invited.id)
    // The link is used up: neither step takes it again.
    await refused(call(mobilePaths.registerOptions, { token }), 400, 'invalid_grant')
    await refused(call(mobilePaths.register, { token, key: device.publicJwk(), attestation: device.attestation(options) }), 400, 'invalid_grant')
    const stored = await createDevices(store.credentials).get(invited.id)
    assert.equal(stored?.status, 'confirming')
    assert.equal(stored?.name, 'Ward 7 iPad[2J', 'control characters removed')
    assert.equal(stored?.registered_by, ACTOR)
    assert.match(stored?.user_agent ?? '', /iPad/)
    // Nothing secret is stored in the clear: neither the link's secret nor the code.
    const raw = JSON.stringify(await store.credentials.get(invited.id))
    assert.ok(!raw.includes(token.split('.')[1] as string) && !raw.includes(`"${registered.code}"`))
    // Until the RA confirms, the device may ask its status and nothing else.
    device.id = registered.device_id
    assert.deepEqual(await call(mobilePaths.device, { jws: await device.call(issuer + mobilePaths.device) }), { status: 'confirming', name: 'Ward 7 iPad[2J', worker: ben.display_name })
    await refused(call(mobilePaths.requests, { jws: await device.call(issuer + mobilePaths.requests) }), 401, 'invalid_token', 'unknown_device')
    const wrong = registered.code === '000000' ? '000001' : '000000'
    assert.deepEqual(await createDevices(store.credentials).confirm(ben.uid, wrong, ACTOR, clock), { outcome: 'wrong', cancelled: false })
    const confirmed = await createDevices(store.credentials).confirm(ben.uid, registered.code, 'cli:ra.jones', clock)
    assert.equal(confirmed.outcome, 'confirmed')
    assert.equal((await createDevices(store.credentials).get(invited.id))?.status, 'active')
    assert.equal((await createDevices(store.credentials).get(invited.id))?.confirmed_by, 'cli:ra.jones')
    assert.deepEqual(await createDevices(store.credentials).confirm(ben.uid, registered.code, ACTOR, clock), { outcome: 'none' })
  })

  it('refuse a link after 15 minutes, a mistyped one, and a registration without user verification', async () => {
    const { token } = await createDevices(store.credentials).invite(ben.uid, ACTOR, clock)
    clock += 15 * 60_000
    await refused(call(mobilePaths.registerOptions, { token }), 400, 'invalid_grant')
    clock -= 15 * 60_000
    await refused(call(mobilePaths.registerOptions, { token: token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A') }), 400, 'invalid_grant')
    await refused(call(mobilePaths.registerOptions, { token: 42 }), 400, 'invalid_grant')
    const unverified = softDevice({ origin: issuer, userVerified: false })
    const { options } = (await call(mobilePaths.registerOptions, { token })) as { options: { challenge: string } }
    await refused(call(mobilePaths.register, { token, key: unverified.publicJwk(), attestation: unverified.attestation(options) }), 400, 'access_denied')
    // A refused registration leaves the link usable.
    const device = softDevice({ origin: issuer })
    const { options: again } = (await call(mobilePaths.registerOptions, { token })) as { options: { challenge: string } }
    await refused(call(mobilePaths.register, { token, key: { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'A'.repeat(43) }, attestation: device.attestation(again) }), 400, 'invalid_request')
    const registered = (await call(mobilePaths.register, { token, key: device.publicJwk(), attestation: device.attestation(again) })) as { code: string }
    assert.match(registered.code, /^[0-9]{6}$/)
  })

  it('cancel a registration after five wrong confirmation codes', async () => {
    const device = softDevice({ origin: issuer })
    const { token, device: invited } = await createDevices(store.credentials).invite(ben.uid, ACTOR, clock)
    const { options } = (await call(mobilePaths.registerOptions, { token })) as { options: { challenge: string } }
    const { code } = (await call(mobilePaths.register, { token, key: device.publicJwk(), attestation: device.attestation(options) })) as { code: string }
    const wrong = code === '111111' ? '222222' : '111111'
    for (let i = 1; i <= 4; i++) assert.deepEqual(await createDevices(store.credentials).confirm(ben.uid, wrong, ACTOR, clock), { outcome: 'wrong', cancelled: false })
    assert.deepEqual(await createDevices(store.credentials).confirm(ben.uid, wrong, ACTOR, clock), { outcome: 'wrong', cancelled: true })
    assert.equal(await createDevices(store.credentials).get(invited.id), undefined)
    assert.deepEqual(await createDevices(store.credentials).confirm(ben.uid, code, ACTOR, clock), { outcome: 'none' })
  })
})

describe('device calls', () => {
  it('accept a call signed by the device for this endpoint, once, and refuse every other', async () => {
    const device = await activeDevice()
    const jws = await device.call(issuer + mobilePaths.device)
    assert.equal(((await call(mobilePaths.device, { jws })) as { status: string }).status, 'active')
    await refused(call(mobilePaths.device, { jws }), 401, 'invalid_token', 'replayed')
    await refused(call(mobilePaths.device, { jws: await device.call(issuer + mobilePaths.requests) }), 401, 'invalid_token', 'wrong_audience')
    await refused(call(mobilePaths.device, { jws: await device.call(issuer + mobilePaths.device, {}, { iat: Math.floor(clock / 1000) - 120 }) }), 401, 'invalid_token', 'stale')
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    await refused(call(mobilePaths.device, { jws: await device.call(issuer + mobilePaths.device, {}, { key: stranger }) }), 401, 'invalid_token', 'bad_signature')
    await refused(call(mobilePaths.device, { jws: 'not.a.jws' }), 401, 'invalid_token', 'malformed')
    const unregistered = softDevice({ origin: issuer })
    unregistered.id = 'dev-000000000000000000000000'
    await refused(call(mobilePaths.device, { jws: await unregistered.call(issuer + mobilePaths.device) }), 401, 'invalid_token', 'unknown_device')
  })
})

describe('sign-in requests', () => {
  it('sign in when the worker enters the number on the device and confirms with the biometric', async () => {
    const device = await activeDevice()
    const { state, view } = await signIn(ada.username)
    const [shown, ...more] = await pending(device)
    assert.equal(more.length, 0)
    assert.equal(shown?.client_name, 'Patient Records')
    assert.ok((shown?.organisations.length ?? 0) > 0, 'the device names the organisations of the worker')
    assert.equal(shown?.id, (view.data as { request: string }).request)
    // Too early: the page's "Continue" says so and keeps waiting for the same request.
    const early = await authenticator.submit({ now: clock }, state, {})
    assert.equal(early.type, 'failure')
    assert.equal(early.type === 'failure' && early.reason, 'not_approved_yet')
    assert.deepEqual(await call(mobilePaths.status, { request: shown?.id }), { status: 'pending' })
    assert.deepEqual(await approve(device, shown as Shown, numberOf(view)), { outcome: 'approved' })
    assert.deepEqual(await call(mobilePaths.status, { request: shown?.id }), { status: 'approved' })
    const done = await authenticator.submit({ now: clock }, early.type === 'failure' ? early.state : state, {})
    assert.deepEqual(done, { type: 'success', uid: ada.uid, amr: ['IOS'], binding: `mobile:${device.id}` })
    // The approval signs in once.
    const again = await authenticator.submit({ now: clock }, state, {})
    assert.equal(again.type === 'failure' && again.reason, 'request_expired')
    assert.deepEqual(await pending(device), [])
  })

  it('kill the request when the number entered on the device is wrong', async () => {
    const device = await activeDevice()
    const { state, view } = await signIn(ada.username)
    const [shown] = await pending(device)
    assert.deepEqual(await approve(device, shown as Shown, otherNumber(numberOf(view))), { outcome: 'number_mismatch' })
    const result = await authenticator.submit({ now: clock }, state, {})
    assert.equal(result.type === 'failure' && result.reason, 'number_mismatch')
    assert.equal(result.type === 'failure' && result.view.page, 'mobile_username')
    assert.deepEqual(await call(mobilePaths.status, { request: shown?.id }), { status: 'refused' })
    // Dead: the right number afterwards changes nothing.
    await refused(approve(device, shown as Shown, numberOf(view)), 409, 'invalid_request', 'already_answered')
  })

  it('expire a request after 2 minutes', async () => {
    const device = await activeDevice()
    const { state, view } = await signIn(ada.username)
    const [shown] = await pending(device)
    clock += requestTtlMs
    assert.deepEqual(await pending(device), [])
    await refused(approve(device, shown as Shown, numberOf(view)), 410, 'invalid_request', 'request_expired')
    assert.deepEqual(await call(mobilePaths.status, { request: shown?.id }), { status: 'expired' })
    const result = await authenticator.submit({ now: clock }, state, {})
    assert.equal(result.type === 'failure' && result.reason, 'request_expired')
  })

  it('approve a request once, whatever the number of concurrent approvals', async () => {
    const device = await activeDevice()
    const { view } = await signIn(ada.username)
    const [shown] = await pending(device)
    const number = numberOf(view)
    const calls = await Promise.all([0, 1, 2].map(async () => ({ request: (shown as Shown).id, number, assertion: device.assertion((shown as Shown).webauthn) })))
    const outcomes = await Promise.allSettled(calls.map(async (claims) => call(mobilePaths.approve, { jws: await device.call(issuer + mobilePaths.approve, claims) })))
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
    for (const o of outcomes.filter((o) => o.status === 'rejected')) assert.equal(((o as PromiseRejectedResult).reason as OAuthError).status, 409)
  })

  it('refuse an approval without user verification, and one from a cloned authenticator (its counter going back)', async () => {
    const device = await activeDevice(ada.uid)
    device.setUserVerified(false)
    const { view } = await signIn(ada.username)
    const [shown] = await pending(device)
    await refused(approve(device, shown as Shown, numberOf(view)), 403, 'access_denied', 'user_not_verified')
    const verified = await activeDevice(ben.uid)
    const first = await signIn(ben.username)
    const [one] = await pending(verified)
    verified.setCounter(10)
    assert.deepEqual(await approve(verified, one as Shown, numberOf(first.view)), { outcome: 'approved' })
    const second = await signIn(ben.username)
    const [two] = await pending(verified)
    verified.setCounter(3)
    await refused(approve(verified, two as Shown, numberOf(second.view)), 403, 'access_denied', 'user_not_verified')
  })

  it("show a request only to the worker's own devices", async () => {
    const adas = await activeDevice(ada.uid)
    const bens = await activeDevice(ben.uid)
    await signIn(ada.username)
    const [shown] = await pending(adas)
    assert.deepEqual(await pending(bens), [])
    await refused(approve(bens, shown as Shown, '42'), 404, 'invalid_request', 'unknown_request')
  })

  it(`put at most ${requestsPerMinute} requests a minute before a worker's devices; the pages beyond look the same`, async () => {
    const device = await activeDevice()
    const pages = []
    for (let i = 0; i <= requestsPerMinute; i++) pages.push(await signIn(ada.username))
    const shown = await pending(device)
    assert.equal(shown.length, requestsPerMinute)
    const last = pages.at(-1) as { view: StepView }
    assert.ok(!shown.some((r) => r.id === (last.view.data as { request: string }).request), 'the request over the limit reaches no device')
    assert.deepEqual(Object.keys(last.view.data ?? {}).sort(), Object.keys((pages[0] as { view: StepView }).view.data ?? {}).sort())
    clock += 60_000
    await signIn(ada.username)
    assert.equal((await pending(device, shown.map((r) => r.id))).length, requestsPerMinute + 1, 'a minute later, requests reach it again')
  })

  it('treat an unknown username exactly as a known one that nobody approves', async () => {
    const known = await signIn(ada.username)
    const unknown = await signIn('nobody.here')
    assert.deepEqual(Object.keys(unknown.view.data ?? {}).sort(), Object.keys(known.view.data ?? {}).sort())
    assert.match(numberOf(unknown.view), /^[1-9][0-9]$/)
    const request = (unknown.view.data as { request: string }).request
    assert.deepEqual(await call(mobilePaths.status, { request }), { status: 'pending' })
    clock += requestTtlMs
    assert.deepEqual(await call(mobilePaths.status, { request }), { status: 'expired' })
    const result = await authenticator.submit({ now: clock }, unknown.state, {})
    assert.equal(result.type === 'failure' && result.reason, 'request_expired')
  })
})

describe('revoked devices', () => {
  it('approve nothing once revoked; their waiting requests are declined, and an approval not yet used signs nobody in', async () => {
    const device = await activeDevice()
    const first = await signIn(ada.username)
    const [approved] = await pending(device)
    assert.deepEqual(await approve(device, approved as Shown, numberOf(first.view)), { outcome: 'approved' })
    const second = await signIn(ada.username)
    const devices = createDevices(store.credentials)
    const revoked = await devices.revoke(device.id, clock)
    assert.ok(revoked)
    assert.equal(revoked.pending.length, 2)
    await declineWaiting(createRequests(store), revoked.pending, device.id, clock)
    await refused(call(mobilePaths.requests, { jws: await device.call(issuer + mobilePaths.requests) }), 401, 'invalid_token', 'device_revoked')
    const late = await authenticator.submit({ now: clock }, first.state, {})
    assert.equal(late.type === 'failure' && late.reason, 'request_declined')
    const waiting = await authenticator.submit({ now: clock }, second.state, {})
    assert.equal(waiting.type === 'failure' && waiting.reason, 'request_declined')
    assert.equal(await devices.revoke(device.id, clock), undefined, 'revoked once')
  })

  it("revoke from the worker's sign-in methods page: the device goes, and the sessions it made end", async () => {
    const device = await activeDevice()
    const plugin = mobilePlugin({
      provider: { config: { issuer } as never, sessions: { endByBinding: async (binding: string) => (ended.push(binding), 1) } as never },
      store: context(store),
      directory: createDirectory(),
      now: () => clock,
    })
    const kind = plugin.credentialKinds?.[0]
    assert.ok(kind)
    const listed = await kind.list(ada.uid)
    assert.ok(listed.some((c) => c.id === device.id && c.detail?.name === 'Ward 7 iPad'))
    assert.equal(await kind.remove(ben.uid, device.id), false, "not another worker's")
    assert.equal(await kind.remove(ada.uid, device.id), true)
    assert.deepEqual(ended, [`mobile:${device.id}`])
    assert.ok(!(await kind.list(ada.uid)).some((c) => c.id === device.id))
    const audit = await store.audit.recent(5)
    assert.ok(audit.some((e) => e.type === 'device.revoked' && e.subject === ada.uid && (e.detail as { device?: string }).device === device.id))
  })
})

describe('the long poll', () => {
  it('answer as soon as a request appears, and stop waiting when the device goes away', async () => {
    const device = await activeDevice()
    const started = Date.now()
    const polling = pending(device)
    setTimeout(() => void signIn(ada.username), 300)
    const shown = await polling
    assert.equal(shown.length, 1)
    assert.ok(Date.now() - started < 2_000, `answered after ${Date.now() - started} ms`)
    // Shown already: the next poll waits until the request is answered, then answers at once.
    const id = (shown[0] as Shown).id
    const next = Date.now()
    const watching = pending(device, [id])
    setTimeout(async () => void (await call(mobilePaths.decline, { jws: await device.call(issuer + mobilePaths.decline, { request: id }) })), 300)
    assert.deepEqual(await watching, [])
    assert.ok(Date.now() - next >= 300 && Date.now() - next < 1_400, `answered after ${Date.now() - next} ms`)
    const quiet = await activeDevice(ben.uid)
    const idle = new AbortController()
    const waited = Date.now()
    const answer = call(mobilePaths.requests, { jws: await quiet.call(issuer + mobilePaths.requests) }, idle.signal)
    setTimeout(() => idle.abort(), 200)
    assert.deepEqual(await answer, { requests: [] })
    assert.ok(Date.now() - waited < 1_000, `stopped after ${Date.now() - waited} ms`)
  })
})
