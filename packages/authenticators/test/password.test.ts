import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuthenticatorContext, StepResult } from '../src/index.ts'
import {
  ARGON2ID_PARAMETERS,
  PASSWORD_KIND,
  enrolPassword,
  hashPassword,
  passwordAuthenticator,
  verifyPassword,
} from '../src/index.ts'
import type { FakeStore } from './fake_store.ts'
import { addPerson, fakeStore, testSecretBox } from './fake_store.ts'

const UID = '555000000001'
const USERNAME = 'alice.smith'
const PASSWORD = 'correct horse battery staple'
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0)
const MINUTE = 60_000
const STATE = { step: 'password' }

async function setup(): Promise<FakeStore> {
  const fake = fakeStore()
  await addPerson(fake.people, UID, USERNAME)
  await enrolPassword(fake.store, UID, PASSWORD, T0)
  return fake
}

function ctx(fake: FakeStore, now = T0, loginHint?: string): AuthenticatorContext {
  return { store: fake.store, secrets: testSecretBox, now, loginHint }
}

async function passwordState(fake: FakeStore) {
  const [credential] = await fake.credentials.listByPerson(UID)
  assert.ok(credential)
  return { state: credential.state, version: credential.version }
}

const invalid = (username: string): StepResult => ({
  type: 'failure',
  state: STATE,
  view: { page: 'password', values: { username }, error: 'invalid_credentials' },
  reason: 'invalid_credentials',
})

const locked = (minutes: number): StepResult => ({
  type: 'failure',
  state: STATE,
  view: { page: 'password', values: { username: USERNAME }, error: 'locked', data: { locked_minutes: minutes } },
  reason: 'locked',
})

describe('password hashing', () => {
  it('makes argon2id PHC strings at the OWASP parameters and verifies them', async () => {
    assert.deepEqual(ARGON2ID_PARAMETERS, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 })
    const hash = await hashPassword(PASSWORD)
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    assert.notEqual(await hashPassword(PASSWORD), hash, 'each hash has its own salt')
    assert.equal(await verifyPassword(hash, PASSWORD), true)
    assert.equal(await verifyPassword(hash, `${PASSWORD} `), false)
  })

  it('normalises Unicode so composed and decomposed input match', async () => {
    const hash = await hashPassword('caf\u00e9')
    assert.equal(await verifyPassword(hash, 'cafe\u0301'), true)
  })
})

describe('password authenticator', () => {
  it('describes itself in CIS2 terms', () => {
    assert.deepEqual(passwordAuthenticator().method, {
      id: 'password',
      amr: 'USERPASS',
      aal: 1,
      acr: 'AAL1_USERPASS',
      label: 'Username and password',
      description: 'Sign in with your username and password only.',
    })
  })

  it('starts on the password page, prefilled from login_hint', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    assert.deepEqual(await authenticator.start(ctx(fake)), { state: STATE, view: { page: 'password' } })
    assert.deepEqual(await authenticator.start(ctx(fake, T0, USERNAME)), {
      state: STATE,
      view: { page: 'password', values: { username: USERNAME } },
    })
  })

  it('stores the password as an argon2id hash under kind password', async () => {
    const fake = await setup()
    const [credential] = await fake.credentials.listByPerson(UID)
    assert.equal(credential?.kind, PASSWORD_KIND)
    assert.match(credential?.secret ?? '', /^\$argon2id\$/)
    assert.ok(!credential?.secret.includes(PASSWORD))
  })

  it('signs in with the right password', async () => {
    const fake = await setup()
    const result = await passwordAuthenticator().submit(ctx(fake), STATE, { username: USERNAME, password: PASSWORD })
    assert.deepEqual(result, { type: 'success', uid: UID, amr: ['USERPASS'] })
  })

  it('ignores spaces around the username but not around the password', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, { username: ` ${USERNAME} `, password: PASSWORD }), {
      type: 'success',
      uid: UID,
      amr: ['USERPASS'],
    })
    assert.deepEqual(
      await authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: ` ${PASSWORD}` }),
      invalid(USERNAME),
    )
  })

  it('refuses a wrong password with invalid_credentials and counts it', async () => {
    const fake = await setup()
    const result = await passwordAuthenticator().submit(ctx(fake), STATE, { username: USERNAME, password: 'nope' })
    assert.deepEqual(result, invalid(USERNAME))
    assert.deepEqual((await passwordState(fake)).state, { failures: 1 })
  })

  it('gives an unknown username, or a person without a password, the same answer', async () => {
    const fake = await setup()
    await addPerson(fake.people, '555000000002', 'no.password')
    const authenticator = passwordAuthenticator()
    assert.deepEqual(
      await authenticator.submit(ctx(fake), STATE, { username: 'nobody', password: PASSWORD }),
      invalid('nobody'),
    )
    assert.deepEqual(
      await authenticator.submit(ctx(fake), STATE, { username: 'no.password', password: PASSWORD }),
      invalid('no.password'),
    )
  })

  it('spends argon2 time on unknown usernames too', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    // Warm the dummy hash so the timed calls compare one verification with one verification.
    await authenticator.submit(ctx(fake), STATE, { username: 'nobody', password: 'x' })
    const time = async (username: string) => {
      const start = performance.now()
      await authenticator.submit(ctx(fake), STATE, { username, password: 'wrong' })
      return performance.now() - start
    }
    const known = await time(USERNAME)
    const unknown = await time('nobody')
    assert.ok(unknown > known / 3, `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`)
  })

  it('asks for missing fields without touching the counter', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    const before = await passwordState(fake)
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: '' }), {
      type: 'failure',
      state: STATE,
      view: { page: 'password', values: { username: USERNAME }, error: 'missing_input' },
      reason: 'missing_input',
    })
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, { password: PASSWORD }), {
      type: 'failure',
      state: STATE,
      view: { page: 'password', error: 'missing_input' },
      reason: 'missing_input',
    })
    assert.deepEqual(await passwordState(fake), before)
  })

  it('locks after 5 consecutive failures, refuses even the right password, and keeps the lock', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    const wrong = { username: USERNAME, password: 'wrong' }
    for (let i = 0; i < 4; i++) assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), invalid(USERNAME))
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), locked(15))
    const lockedState = await passwordState(fake)
    assert.deepEqual(lockedState.state, { failures: 0, locked_until: T0 + 15 * MINUTE })

    const right = { username: USERNAME, password: PASSWORD }
    assert.deepEqual(await authenticator.submit(ctx(fake, T0 + MINUTE), STATE, right), locked(14))
    // Persisted: a new instance (another node, a restart) sees the same lock.
    const fresh = passwordAuthenticator()
    assert.deepEqual(await fresh.submit(ctx(fake, T0 + 14 * MINUTE + 30_000), STATE, right), locked(1))
    assert.deepEqual(await fresh.submit(ctx(fake, T0 + 2 * MINUTE), STATE, wrong), locked(13))
    assert.deepEqual(await passwordState(fake), lockedState, 'attempts while locked change nothing')
  })

  it('lets the person in once the lock has expired, with the count started afresh', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    const wrong = { username: USERNAME, password: 'wrong' }
    for (let i = 0; i < 5; i++) await authenticator.submit(ctx(fake), STATE, wrong)
    const after = T0 + 15 * MINUTE
    assert.deepEqual(await authenticator.submit(ctx(fake, after), STATE, wrong), invalid(USERNAME))
    assert.deepEqual((await passwordState(fake)).state, { failures: 1 })
    assert.deepEqual(await authenticator.submit(ctx(fake, after), STATE, { username: USERNAME, password: PASSWORD }), {
      type: 'success',
      uid: UID,
      amr: ['USERPASS'],
    })
    assert.deepEqual((await passwordState(fake)).state, {})
  })

  it('resets the count on success, so failures must be consecutive to lock', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    const wrong = { username: USERNAME, password: 'wrong' }
    for (let i = 0; i < 4; i++) await authenticator.submit(ctx(fake), STATE, wrong)
    assert.deepEqual((await passwordState(fake)).state, { failures: 4 })
    const ok = await authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: PASSWORD })
    assert.equal(ok.type, 'success')
    assert.deepEqual((await passwordState(fake)).state, {})
    for (let i = 0; i < 4; i++) assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), invalid(USERNAME))
  })

  it('does not write on a clean success', async () => {
    const fake = await setup()
    const before = await passwordState(fake)
    await passwordAuthenticator().submit(ctx(fake), STATE, { username: USERNAME, password: PASSWORD })
    assert.deepEqual(await passwordState(fake), before)
  })

  it('counts every one of several concurrent failures (compare-and-set, no lost update)', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    const results = await Promise.all(
      Array.from({ length: 4 }, () => authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: 'wrong' })),
    )
    for (const result of results) assert.deepEqual(result, invalid(USERNAME))
    assert.deepEqual((await passwordState(fake)).state, { failures: 4 })
  })

  it('locks exactly once when concurrent failures cross the limit', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    const results = await Promise.all(
      Array.from({ length: 7 }, () => authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: 'wrong' })),
    )
    assert.equal(results.filter((r) => r.type === 'failure' && r.reason === 'invalid_credentials').length, 4)
    assert.equal(results.filter((r) => r.type === 'failure' && r.reason === 'locked').length, 3)
    assert.deepEqual((await passwordState(fake)).state, { failures: 0, locked_until: T0 + 15 * MINUTE })
  })

  it('takes a configurable lockout policy', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator({ lockout: { maxFailures: 2, lockMs: 90_000 } })
    const wrong = { username: USERNAME, password: 'wrong' }
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), invalid(USERNAME))
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), locked(2))
    const right = { username: USERNAME, password: PASSWORD }
    assert.equal((await authenticator.submit(ctx(fake, T0 + 90_000), STATE, right)).type, 'success')
    assert.throws(() => passwordAuthenticator({ lockout: { maxFailures: 0 } }), RangeError)
  })

  it('enrolPassword replaces the password and clears a lock', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    for (let i = 0; i < 5; i++) await authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: 'wrong' })
    await enrolPassword(fake.store, UID, 'a new passphrase', T0)
    const all = await fake.credentials.listByPerson(UID)
    assert.equal(all.length, 1)
    assert.deepEqual(all[0]?.state, {})
    assert.deepEqual(
      await authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: PASSWORD }),
      invalid(USERNAME),
    )
    assert.equal(
      (await authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: 'a new passphrase' })).type,
      'success',
    )
  })
})
