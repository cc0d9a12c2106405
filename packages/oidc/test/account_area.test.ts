/**
 * The account area's rules, on the core alone (an in-memory store, enrollers and a credential kind
 * written here against the enrolment port): who may add what (the grant and the level rule), the
 * ceremony's binding to its browser, its token and its session, the last credential kept, and the
 * enrolment codes' single use and expiry.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, beforeEach, describe, it } from 'node:test'
import { demoWorkforce } from '@careid/domain'
import { storedStepView, type Aal, type CredentialKind, type Enroller, type EnrolmentGrant, type Json, type StepPage, type Store } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import { createAccountArea, type AccountOutcome, type AccountView } from '../src/account/account_area.ts'
import { enrolmentCodeRecord, normaliseEnrolmentCode, useEnrolmentCode } from '../src/account/enrolment_codes.ts'
import { createClientRegistry } from '../src/clients.ts'
import { defaultConfig } from '../src/config.ts'
import { sha256 } from '../src/crypto.ts'
import { createSessionService, type SessionService } from '../src/sessions.ts'

/** The test enrollers' one page, the authenticator app's code page (its field here: `answer`). */
const testPage: StepPage<'totp'> = {
  name: 'totp',
  decode(stored) {
    const parts = storedStepView(stored, ['invalid_code'] as const)
    return parts === undefined ? undefined : { page: 'totp', ...(parts.error === undefined ? {} : { error: parts.error }) }
  },
}

const issuer = 'https://careid.example.test/oidc'
/** A box that really hides what it seals (reversed base64 behind a marker), enough to see nothing is kept in clear. */
const testSecrets = {
  seal: (plain: string) => `sealed:${Buffer.from(plain).toString('base64').split('').reverse().join('')}`,
  open: (sealed: string) => {
    if (!sealed.startsWith('sealed:')) throw new Error('not sealed')
    return Buffer.from(sealed.slice('sealed:'.length).split('').reverse().join(''), 'base64').toString()
  },
}
const worker = demoWorkforce[0] as (typeof demoWorkforce)[number]
const KIND = 'test_key'

describe('the account area', () => {
  let store: Store
  let sessions: SessionService
  /** What each enroller's `start` was given, newest last. */
  let grants: EnrolmentGrant[]
  let account: ReturnType<typeof createAccountArea>
  /** The level the next registration claims (an enroller that misbehaves claims more than its grant). */
  let claimedAal: Aal | undefined

  /** An enroller that registers a `test_key` credential when `answer` is `yes`. */
  function enroller(method: string, maxAal: Aal): Enroller {
    return {
      method,
      label: `Key ${method}`,
      description: 'A test key',
      maxAal,
      pages: [testPage],
      async start(ctx) {
        grants.push(ctx.grant)
        return { state: { n: 0 }, view: { page: 'totp' } }
      },
      async submit(ctx, state, input) {
        if (input.answer !== 'yes') return { type: 'failure', state, view: { page: 'totp', error: 'invalid_code' }, reason: 'invalid_code' }
        const id = randomUUID()
        await store.credentials.put({ id, uid: ctx.grant.uid, kind: KIND, secret: '', state: {}, version: 0, created_at: ctx.now })
        return { type: 'registered', credential: { id, kind: KIND, created_at: ctx.now }, aal: claimedAal ?? maxAal }
      },
    }
  }

  const kind: CredentialKind = {
    kind: KIND,
    label: 'Test key',
    list: async (uid) => (await store.credentials.listByPerson(uid)).filter((c) => c.kind === KIND).map((c) => ({ id: c.id, kind: c.kind, created_at: c.created_at })),
    remove: async (uid, id) => {
      const c = await store.credentials.get(id)
      return c?.uid === uid && c.kind === KIND ? store.credentials.remove(id) : false
    },
  }

  before(async () => {
    store = await openSqliteStore({ path: ':memory:' })
    await store.people.put(worker.uid, worker.username, worker as unknown as Json)
    const config = defaultConfig(issuer)
    sessions = createSessionService({ store, clients: createClientRegistry(store.clients, Date.now), config, now: Date.now })
    account = createAccountArea({
      store,
      sessions,
      config,
      now: Date.now,
      enrollers: [enroller('two', 2), enroller('three', 3)],
      credentialKinds: [kind],
      secrets: testSecrets,
      token: async () => {
        throw new Error('no token endpoint in these tests')
      },
      verify: () => undefined,
    })
  })
  after(async () => store?.close())
  beforeEach(async () => {
    grants = []
    claimedAal = undefined
    for (const c of await store.credentials.listByPerson(worker.uid)) await store.credentials.remove(c.id)
  })

  async function session(aal: Aal) {
    return sessions.start({ sub: worker.uid, amr: ['TEST'], aal, auth_time: Date.now() })
  }

  function shown(outcome: AccountOutcome): AccountView & { status?: number } {
    assert.equal(outcome.type, 'show', JSON.stringify(outcome))
    return { ...(outcome as { view: AccountView }).view, status: (outcome as { status: number }).status }
  }

  function overviewOf(outcome: AccountOutcome): Extract<AccountView, { kind: 'overview' }> {
    const view = shown(outcome)
    assert.equal(view.kind, 'overview')
    return view as Extract<AccountView, { kind: 'overview' }>
  }

  /** Starts enroller `method` from a session; the ceremony id. */
  async function startFrom(secret: string, browser: string, method: string): Promise<string> {
    const { csrf } = overviewOf(await account.show({ sessionSecret: secret, browserSecret: browser, form: {} }))
    const outcome = await account.add({ sessionSecret: secret, browserSecret: browser, form: { csrf, method } })
    assert.equal(outcome.type, 'redirect', JSON.stringify(outcome))
    const id = (outcome as { location: string }).location.split('/').pop() as string
    assert.match(id, /^enrol-/)
    return id
  }

  it('offers enrollers up to the session\'s level and shows those above it as needing a stronger sign-in', async () => {
    const { secret } = await session(2)
    const view = overviewOf(await account.show({ sessionSecret: secret, browserSecret: 'b', form: {} }))
    assert.deepEqual(view.add.map((m) => m.method), ['two'])
    assert.deepEqual(view.stronger.map((m) => m.method), ['three'])
    const refused = await account.add({ sessionSecret: secret, browserSecret: 'b', form: { csrf: view.csrf, method: 'three' } })
    assert.equal(shown(refused).status, 403)
    assert.equal((shown(refused) as { error?: string }).error, 'stronger_sign_in_needed')
    assert.deepEqual(grants, [], 'no ceremony started')
  })

  it('a session grant is the session\'s person and level; a code grant is one method at AAL3', async () => {
    const { secret } = await session(3)
    await startFrom(secret, 'b', 'two')
    assert.deepEqual(grants.pop(), { uid: worker.uid, maxAal: 3, via: 'session' })

    const issued = enrolmentCodeRecord(worker.uid, 'three', Date.now())
    await store.credentials.put(issued.record)
    const form = shown(await account.codeForm({ browserSecret: 'c', form: {} }))
    assert.equal(form.kind, 'code')
    const outcome = await account.useCode({ browserSecret: 'c', form: { csrf: (form as { csrf: string }).csrf, username: worker.username, code: issued.code } })
    assert.equal(outcome.type, 'redirect')
    assert.deepEqual(grants.pop(), { uid: worker.uid, maxAal: 3, via: 'code', method: 'three' })
  })

  it('a ceremony goes on only in its browser, with its token, while its session lasts', async () => {
    const { session: s, secret } = await session(2)
    const id = await startFrom(secret, 'browser-a', 'two')
    const step = shown(await account.step(id, { sessionSecret: secret, browserSecret: 'browser-a', form: {} }))
    assert.equal(step.kind, 'step')
    const csrf = (step as { csrf: string }).csrf

    // What the ceremony keeps of its page is sealed; a record whose page does not open is no ceremony.
    const record = await store.interactions.get(id, Date.now())
    assert.equal(record?.payload.view, undefined)
    assert.ok(!JSON.stringify(record?.payload).includes('totp'), 'the page is not kept in clear')
    const copy = `${id}-copy`
    await store.interactions.put({ id: copy, expires_at: Date.now() + 60_000, payload: { ...record?.payload, sealed_view: 'tampered' } })
    assert.equal((await account.step(copy, { sessionSecret: secret, browserSecret: 'browser-a', form: {} })).type, 'error_page')
    assert.equal((await account.step(id, { sessionSecret: secret, browserSecret: 'browser-b', form: {} })).type, 'error_page', 'another browser')
    assert.equal((await account.submit(id, { sessionSecret: secret, browserSecret: 'browser-a', form: { csrf: 'forged', answer: 'yes' } })).type, 'error_page', 'a forged token')
    assert.equal((await account.step('not-a-ceremony', { sessionSecret: secret, browserSecret: 'browser-a', form: {} })).type, 'error_page')
    const wrong = shown(await account.submit(id, { sessionSecret: secret, browserSecret: 'browser-a', form: { csrf, answer: 'no' } }))
    assert.equal(wrong.status, 400)
    assert.equal((await kind.list(worker.uid)).length, 0)

    await sessions.end(s, 'logout')
    const ended = await account.submit(id, { sessionSecret: secret, browserSecret: 'browser-a', form: { csrf, answer: 'yes' } })
    assert.equal(ended.type, 'error_page')
    assert.match((ended as { error: Error }).error.message, /Your sign-in has ended/)
    assert.equal((await kind.list(worker.uid)).length, 0, 'nothing registered')
    assert.equal(await store.interactions.get(id, Date.now()), undefined, 'the ceremony is gone')
  })

  it('a ceremony stops when its session is signed in again below the grant\'s level', async () => {
    const { session: s, secret } = await session(3)
    const id = await startFrom(secret, 'b', 'three')
    const { csrf } = shown(await account.step(id, { sessionSecret: secret, browserSecret: 'b', form: {} })) as { csrf: string }
    const lower = await sessions.signInAgain(s, { sub: worker.uid, amr: ['TEST'], aal: 2, auth_time: Date.now() })
    assert.equal((await account.submit(id, { sessionSecret: lower.secret, browserSecret: 'b', form: { csrf, answer: 'yes' } })).type, 'error_page')
    assert.equal((await kind.list(worker.uid)).length, 0)
  })

  it('registers, audits who added it, and takes back a credential above the grant', async () => {
    const { secret } = await session(2)
    const id = await startFrom(secret, 'b', 'two')
    const { csrf } = shown(await account.step(id, { sessionSecret: secret, browserSecret: 'b', form: {} })) as { csrf: string }
    const done = await account.submit(id, { sessionSecret: secret, browserSecret: 'b', form: { csrf, answer: 'yes' } })
    assert.deepEqual(done, { type: 'redirect', location: `${issuer}/account?added=two` })
    const [event] = await store.audit.recent(1)
    assert.equal(event?.type, 'credential.added')
    assert.equal(event?.actor, worker.uid)
    assert.equal((await kind.list(worker.uid)).length, 1)
    assert.equal((await account.step(id, { sessionSecret: secret, browserSecret: 'b', form: {} })).type, 'error_page', 'a finished ceremony is gone')

    claimedAal = 3
    const over = await startFrom(secret, 'b', 'two')
    const again = shown(await account.step(over, { sessionSecret: secret, browserSecret: 'b', form: {} })) as { csrf: string }
    const refused = await account.submit(over, { sessionSecret: secret, browserSecret: 'b', form: { csrf: again.csrf, answer: 'yes' } })
    assert.equal(refused.type, 'error_page')
    assert.equal((await kind.list(worker.uid)).length, 1, 'the credential above the grant was removed')
  })

  it('never removes the last credential, and audits a removal', async () => {
    const { secret } = await session(2)
    for (const n of [1, 2]) await store.credentials.put({ id: `key-${n}`, uid: worker.uid, kind: KIND, secret: '', state: {}, version: 0, created_at: n })
    const view = overviewOf(await account.show({ sessionSecret: secret, browserSecret: 'b', form: {} }))
    assert.deepEqual(view.credentials.map((c) => c.removable), [true, true])
    const removed = await account.remove({ sessionSecret: secret, browserSecret: 'b', form: { csrf: view.csrf, kind: KIND, id: 'key-1' } })
    assert.deepEqual(removed, { type: 'redirect', location: `${issuer}/account?removed=${KIND}` })
    const [event] = await store.audit.recent(1)
    assert.equal(event?.type, 'credential.removed')
    assert.deepEqual(event?.detail?.credential_id, 'key-1')
    const last = await account.remove({ sessionSecret: secret, browserSecret: 'b', form: { csrf: view.csrf, kind: KIND, id: 'key-2' } })
    assert.equal((shown(last) as { error?: string }).error, 'last_method')
    assert.equal(overviewOf(last).credentials[0]?.removable, false)
    assert.deepEqual((await kind.list(worker.uid)).map((c) => c.id), ['key-2'])
    const forged = await account.remove({ sessionSecret: secret, browserSecret: 'b', form: { csrf: sha256('guess'), kind: KIND, id: 'key-2' } })
    assert.equal(forged.type, 'error_page')
  })
})

describe('enrolment codes', () => {
  let store: Store
  before(async () => {
    store = await openSqliteStore({ path: ':memory:' })
  })
  after(async () => store?.close())

  it('are high-entropy, grouped, and read whatever the case, spacing or look-alike letters', () => {
    const { code } = enrolmentCodeRecord('u', 'totp', 0)
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/)
    assert.equal(normaliseEnrolmentCode(code.toLowerCase().replaceAll('-', ' ')), code.replaceAll('-', ''))
    assert.equal(normaliseEnrolmentCode('O0IL-0000-0000-0000-0000'), '0011' + '0'.repeat(16))
    assert.equal(normaliseEnrolmentCode('short'), undefined)
    assert.equal(normaliseEnrolmentCode('UUUU-0000-0000-0000-0000'), undefined, 'U is not in the alphabet')
  })

  it('work once, even when used twice at the same time', async () => {
    const issued = enrolmentCodeRecord('person-1', 'totp', Date.now())
    await store.credentials.put(issued.record)
    const uses = await Promise.all([1, 2, 3].map(() => useEnrolmentCode(store.credentials, 'person-1', issued.code, Date.now())))
    assert.deepEqual(uses.filter((m) => m !== undefined), ['totp'])
    assert.equal(await useEnrolmentCode(store.credentials, 'person-1', issued.code, Date.now()), undefined)
  })

  it('are for their person only, and not after they expire', async () => {
    const now = Date.now()
    const issued = enrolmentCodeRecord('person-2', 'totp', now, 60_000)
    await store.credentials.put(issued.record)
    assert.equal(await useEnrolmentCode(store.credentials, 'someone-else', issued.code, now), undefined)
    assert.equal(await useEnrolmentCode(store.credentials, 'person-2', issued.code, now + 60_000), undefined, 'expired at its expiry')
    assert.equal(await store.credentials.get(issued.record.id), undefined, 'an expired code is deleted when found')
  })

  it('are stored only as their hash', () => {
    const issued = enrolmentCodeRecord('person-3', 'totp', 0)
    assert.ok(!JSON.stringify(issued.record).includes(issued.code.replaceAll('-', '')))
    assert.equal(issued.record.id, `enrolment_code:${sha256(issued.code.replaceAll('-', ''))}`)
  })
})
