import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuthenticatorContext, CredentialContext, StepResult } from '@careid/ports'
import type { PasswordAuthenticatorOptions } from '../../src/index.ts'
import {
  ARGON2ID_PARAMETERS,
  PASSWORD_KIND,
  dummyPasswordHash,
  enrolPassword,
  hashPassword,
  passwordAuthenticator,
  unlockPassword,
  verifyPassword,
} from '../../src/index.ts'
import type { FakeStore } from '../support/fake_store.ts'
import { addPerson, fakeStore, testSecretBox } from '../support/fake_store.ts'

const UID = '555000000001'
const USERNAME = 'alice.smith'
const PASSWORD = 'correct horse battery staple'
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0)
const MINUTE = 60_000
const STATE = { step: 'password' }
const SOURCE_A = '198.51.100.7'
const SOURCE_B = '203.0.113.20'
/** The argon2id parameters as a PHC string states them. */
const PHC_PARAMETERS = '$argon2id$v=19$m=19456,t=2,p=1$'

async function setup(): Promise<FakeStore> {
  const fake = fakeStore()
  await addPerson(fake.people, UID, USERNAME)
  await enrolPassword(fake.store, UID, PASSWORD, T0)
  return fake
}

/** A sign-in attempt's context: from `source` (one address unless a test says otherwise). */
function ctx(fake: FakeStore, now = T0, loginHint?: string, source = SOURCE_A): AuthenticatorContext & CredentialContext {
  return { people: fake.people, credentials: fake.credentials, rates: fake.rates, secrets: testSecretBox, now, loginHint, source }
}

/** The same, from another address. */
function from(source: string, fake: FakeStore, now = T0): AuthenticatorContext & CredentialContext {
  return ctx(fake, now, undefined, source)
}

/** The real argon2id verification, with the hashes it was asked to check recorded. */
function countingVerify(): { verify: NonNullable<PasswordAuthenticatorOptions['verify']>; hashes: string[] } {
  const hashes: string[] = []
  return {
    hashes,
    verify: (hash, password) => {
      hashes.push(hash)
      return verifyPassword(hash, password)
    },
  }
}

/** A stand-in for argon2id where a test makes many attempts: only PASSWORD matches, only against a real hash. */
function fastVerify(realHash: string): NonNullable<PasswordAuthenticatorOptions['verify']> {
  return async (hash, password) => hash === realHash && password === PASSWORD
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

const locked = (minutes: number, username = USERNAME): StepResult => ({
  type: 'failure',
  state: STATE,
  view: { page: 'password', values: { username }, error: 'locked', data: { locked_minutes: minutes } },
  reason: 'locked',
})

async function realHash(fake: FakeStore): Promise<string> {
  const [credential] = await fake.credentials.listByPerson(UID)
  assert.ok(credential)
  return credential.secret
}

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

  it('answers an unknown username, a person without a password, a locked password and a wrong password alike, each after exactly one argon2id verification', async () => {
    const fake = await setup()
    await addPerson(fake.people, '555000000002', 'no.password')
    await addPerson(fake.people, '555000000003', 'locked.person')
    await enrolPassword(fake.store, '555000000003', PASSWORD, T0)
    const [lockedCredential] = await fake.credentials.listByPerson('555000000003')
    assert.ok(lockedCredential)
    assert.equal(await fake.credentials.updateState(lockedCredential.id, lockedCredential.version, { locked_at: T0 - MINUTE }), true)
    const dummy = await dummyPasswordHash()
    assert.ok(dummy.startsWith(PHC_PARAMETERS), 'the dummy hash costs what a real one does')
    const cases = [
      { name: 'unknown username', username: 'nobody', password: PASSWORD, hash: dummy },
      { name: 'no password credential', username: 'no.password', password: PASSWORD, hash: dummy },
      { name: 'locked by the hard limit, right password', username: 'locked.person', password: PASSWORD, hash: lockedCredential.secret },
      { name: 'locked by the hard limit, wrong password', username: 'locked.person', password: 'wrong', hash: lockedCredential.secret },
      { name: 'wrong password', username: USERNAME, password: 'wrong', hash: await realHash(fake) },
    ]
    for (const c of cases) {
      const { verify, hashes } = countingVerify()
      const result = await passwordAuthenticator({ verify }).submit(ctx(fake), STATE, { username: c.username, password: c.password })
      assert.deepEqual(result, invalid(c.username), c.name)
      assert.deepEqual(hashes, [c.hash], `${c.name}: one verification, against ${c.hash === dummy ? 'the dummy' : 'the real'} hash`)
    }
    // And a username backed off from this address: the same single verification, before the answer.
    for (let i = 0; i < 4; i++) await passwordAuthenticator({ verify: countingVerify().verify }).submit(ctx(fake), STATE, { username: 'nobody', password: 'wrong' })
    const { verify, hashes } = countingVerify()
    assert.deepEqual(await passwordAuthenticator({ verify }).submit(ctx(fake), STATE, { username: 'nobody', password: PASSWORD }), locked(5, 'nobody'))
    assert.deepEqual(hashes, [dummy])
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

  it('five failures for a username from one address back that pair off: even the right password waits, nothing is counted meanwhile, and another address signs in', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    const wrong = { username: USERNAME, password: 'wrong' }
    const right = { username: USERNAME, password: PASSWORD }
    for (let i = 0; i < 4; i++) assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), invalid(USERNAME))
    // The fifth fills the five-minute window that began at T0.
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), locked(5))
    assert.deepEqual((await passwordState(fake)).state, { failures: 5 })

    assert.deepEqual(await authenticator.submit(ctx(fake, T0 + MINUTE), STATE, right), locked(4))
    assert.deepEqual(await authenticator.submit(ctx(fake, T0 + 2 * MINUTE), STATE, wrong), locked(3))
    assert.deepEqual((await passwordState(fake)).state, { failures: 5 }, 'attempts while backed off count nothing')

    // An attacker at A does not lock the worker out at B.
    assert.deepEqual(await authenticator.submit(from(SOURCE_B, fake, T0 + 2 * MINUTE), STATE, right), { type: 'success', uid: UID, amr: ['USERPASS'] })
    assert.deepEqual((await passwordState(fake)).state, {})
    // Persisted in the store: a new instance (another node, a restart) backs A off too.
    assert.deepEqual(await passwordAuthenticator().submit(ctx(fake, T0 + 4 * MINUTE + 30_000), STATE, right), locked(1))
    // Once the window ends, A may try again.
    assert.equal((await authenticator.submit(ctx(fake, T0 + 5 * MINUTE), STATE, right)).type, 'success')
  })

  it('backs off for longer as failures go on: 10 in an hour wait for the hour to end, 20 in a day for the day', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator({ verify: fastVerify(await realHash(fake)) })
    const wrong = { username: USERNAME, password: 'wrong' }
    const fail5 = async (at: number) => {
      for (let i = 0; i < 4; i++) assert.deepEqual(await authenticator.submit(ctx(fake, at), STATE, wrong), invalid(USERNAME))
      return authenticator.submit(ctx(fake, at), STATE, wrong)
    }
    // T0 is 09:00 UTC.
    assert.deepEqual(await fail5(T0), locked(5))
    assert.deepEqual(await fail5(T0 + 5 * MINUTE), locked(55), 'the tenth failure this hour: until 10:00')
    assert.deepEqual(await authenticator.submit(ctx(fake, T0 + 30 * MINUTE), STATE, wrong), locked(30))
    assert.deepEqual(await fail5(T0 + 60 * MINUTE), locked(5))
    assert.deepEqual(await fail5(T0 + 65 * MINUTE), locked(13 * 60 + 55), 'the twentieth failure today: until midnight')
    assert.deepEqual(await authenticator.submit(ctx(fake, T0 + 5 * 60 * MINUTE), STATE, wrong), locked(10 * 60))
    // Another address is not held up by any of it.
    assert.equal((await authenticator.submit(from(SOURCE_B, fake, T0 + 5 * 60 * MINUTE), STATE, { username: USERNAME, password: PASSWORD })).type, 'success')
  })

  it('counts each window on its own where windows end together: in the last five minutes of an hour, the fifth failure backs off, not the third', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator({ verify: fastVerify(await realHash(fake)) })
    const wrong = { username: USERNAME, password: 'wrong' }
    // T0 is 09:00 UTC: at 09:55 the five-minute window and the hour both end at 10:00.
    const at = T0 + 55 * MINUTE
    for (let i = 0; i < 4; i++) assert.deepEqual(await authenticator.submit(ctx(fake, at), STATE, wrong), invalid(USERNAME), `failure ${i + 1}`)
    assert.deepEqual(await authenticator.submit(ctx(fake, at), STATE, wrong), locked(5))
  })

  it('backs an unknown username off exactly as a real one, case and spaces aside', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    for (const username of [USERNAME, 'nobody']) {
      for (let i = 0; i < 4; i++) assert.deepEqual(await authenticator.submit(ctx(fake), STATE, { username, password: 'wrong' }), invalid(username))
      assert.deepEqual(await authenticator.submit(ctx(fake), STATE, { username, password: 'wrong' }), locked(5, username))
    }
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, { username: ` ${USERNAME.toUpperCase()} `, password: 'wrong' }), locked(5, USERNAME.toUpperCase()))
  })

  it('locks the password after 100 consecutive failures from any number of addresses, refusing it as a wrong one until the Registration Authority unlocks it', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator({ verify: fastVerify(await realHash(fake)) })
    const wrong = { username: USERNAME, password: 'wrong' }
    const right = { username: USERNAME, password: PASSWORD }
    // 25 addresses, 4 failures each: none is backed off, so only the hard limit can stop them.
    for (let n = 1; n <= 100; n++) {
      const result = await authenticator.submit(from(`192.0.2.${Math.ceil(n / 4)}`, fake), STATE, wrong)
      assert.deepEqual(result, invalid(USERNAME), `failure ${n}`)
      if (n === 99) assert.deepEqual((await passwordState(fake)).state, { failures: 99 })
    }
    assert.deepEqual((await passwordState(fake)).state, { locked_at: T0 })
    // The right password from a fresh address: answered as an unknown username is.
    assert.deepEqual(await authenticator.submit(from(SOURCE_B, fake, T0 + 60 * MINUTE), STATE, right), invalid(USERNAME))
    assert.deepEqual(await authenticator.submit(from(SOURCE_B, fake, T0 + 60 * MINUTE), STATE, { username: 'nobody', password: PASSWORD }), invalid('nobody'))
    // It does not expire by itself.
    assert.deepEqual(await authenticator.submit(from('192.0.2.200', fake, T0 + 30 * 24 * 60 * MINUTE), STATE, right), invalid(USERNAME))
    assert.deepEqual((await passwordState(fake)).state, { locked_at: T0 }, 'attempts on a locked password change nothing')

    assert.equal(await unlockPassword(fake.store, UID), true)
    assert.deepEqual((await passwordState(fake)).state, {})
    assert.equal((await authenticator.submit(from('192.0.2.201', fake, T0 + 30 * 24 * 60 * MINUTE), STATE, right)).type, 'success')
    assert.equal(await unlockPassword(fake.store, '555999999999'), false, 'no password to unlock')
  })

  it('lets a password locked for 15 minutes by earlier versions in, clearing that lock', async () => {
    const fake = await setup()
    const [credential] = await fake.credentials.listByPerson(UID)
    assert.ok(credential)
    await fake.credentials.updateState(credential.id, credential.version, { failures: 0, locked_until: T0 + 10 * MINUTE })
    assert.equal((await passwordAuthenticator().submit(ctx(fake), STATE, { username: USERNAME, password: PASSWORD })).type, 'success')
    assert.deepEqual((await passwordState(fake)).state, {})
  })

  it('resets the count on success, so only consecutive failures reach the hard limit', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator({ throttle: { hardLimit: 5 } })
    const wrong = { username: USERNAME, password: 'wrong' }
    for (let i = 0; i < 4; i++) await authenticator.submit(from(`192.0.2.${i}`, fake), STATE, wrong)
    assert.deepEqual((await passwordState(fake)).state, { failures: 4 })
    const ok = await authenticator.submit(from(SOURCE_B, fake), STATE, { username: USERNAME, password: PASSWORD })
    assert.equal(ok.type, 'success')
    assert.deepEqual((await passwordState(fake)).state, {})
    for (let i = 0; i < 4; i++) assert.deepEqual(await authenticator.submit(from(`192.0.2.${10 + i}`, fake), STATE, wrong), invalid(USERNAME))
    assert.deepEqual((await passwordState(fake)).state, { failures: 4 })
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

  it('counts concurrent failures from one address past the back-off: those beyond the fifth answer locked', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator()
    const results = await Promise.all(
      Array.from({ length: 7 }, () => authenticator.submit(ctx(fake), STATE, { username: USERNAME, password: 'wrong' })),
    )
    assert.equal(results.filter((r) => r.type === 'failure' && r.reason === 'invalid_credentials').length, 4)
    assert.equal(results.filter((r) => r.type === 'failure' && r.reason === 'locked').length, 3)
    assert.deepEqual((await passwordState(fake)).state, { failures: 7 })
  })

  it('takes a configurable throttle, refusing one that would disable a limit', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator({ throttle: { backoff: [{ failures: 2, windowMs: 90_000 }], hardLimit: 3 } })
    const wrong = { username: USERNAME, password: 'wrong' }
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), invalid(USERNAME))
    assert.deepEqual(await authenticator.submit(ctx(fake), STATE, wrong), locked(2))
    const right = { username: USERNAME, password: PASSWORD }
    assert.equal((await authenticator.submit(ctx(fake, T0 + 90_000), STATE, right)).type, 'success')
    for (let i = 0; i < 3; i++) await authenticator.submit(from(`192.0.2.${i}`, fake), STATE, wrong)
    assert.deepEqual((await passwordState(fake)).state, { locked_at: T0 })
    for (const throttle of [{ hardLimit: 101 }, { hardLimit: 0 }, { backoff: [] }, { backoff: [{ failures: 0, windowMs: 60_000 }] }, { backoff: [{ failures: 5, windowMs: 1.5 }] }]) {
      assert.throws(() => passwordAuthenticator({ throttle }), RangeError, JSON.stringify(throttle))
    }
  })

  it('enrolPassword replaces the password and clears a lock', async () => {
    const fake = await setup()
    const authenticator = passwordAuthenticator({ throttle: { hardLimit: 3 } })
    for (let i = 0; i < 3; i++) await authenticator.submit(from(`192.0.2.${i}`, fake), STATE, { username: USERNAME, password: 'wrong' })
    assert.deepEqual((await passwordState(fake)).state, { locked_at: T0 })
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
