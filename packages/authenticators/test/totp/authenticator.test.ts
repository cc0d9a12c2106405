import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AuthenticatorContext, CredentialContext, StepResult } from '@careid/ports'
import { TOTP_KIND, currentTotpCode, enrolPassword, enrolTotp, totpAuthenticator, verifyPassword } from '../../src/index.ts'
import type { FakeStore } from '../support/fake_store.ts'
import { addPerson, fakeStore, testSecretBox } from '../support/fake_store.ts'

const UID = '555000000001'
const USERNAME = 'alice.smith'
const PASSWORD = 'correct horse battery staple'
/** 10 s into a 30 s step, so ±30 s lands squarely on the neighbouring steps. */
const T0 = Date.UTC(2025, 0, 6, 9, 0, 10)
const STEP = 30_000
const MINUTE = 60_000
const PASSWORD_STATE = { step: 'password' }
const CODE_STATE = { step: 'code', uid: UID }
const RIGHT_PASSWORD = { username: USERNAME, password: PASSWORD }

async function setup(): Promise<{ fake: FakeStore; secret: string }> {
  const fake = fakeStore()
  await addPerson(fake.people, UID, USERNAME)
  await enrolPassword(fake.store, UID, PASSWORD, T0)
  const { secret } = await enrolTotp(fake.store, testSecretBox, UID, T0, USERNAME)
  return { fake, secret }
}

function ctx(fake: FakeStore, now = T0, loginHint?: string): AuthenticatorContext & CredentialContext {
  return { people: fake.people, credentials: fake.credentials, rates: fake.rates, secrets: testSecretBox, now, loginHint }
}

async function totpCredential(fake: FakeStore) {
  const credential = (await fake.credentials.listByPerson(UID)).find((c) => c.kind === TOTP_KIND)
  assert.ok(credential)
  return credential
}

/** A well-formed code that is not valid anywhere in the accepted window around `at`. */
function wrongCode(secret: string, at: number): string {
  const valid = new Set([-1, 0, 1].map((d) => currentTotpCode(secret, at + d * STEP)))
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0')
    if (!valid.has(candidate)) return candidate
  }
}

const success: StepResult = { type: 'success', uid: UID, amr: ['TOTP'] }

const codeFailure = (
  reason: 'invalid_code' | 'code_already_used' | 'locked' | 'missing_input',
  data?: { locked_minutes: number },
): StepResult => ({
  type: 'failure',
  state: CODE_STATE,
  view: data === undefined ? { page: 'totp', error: reason } : { page: 'totp', error: reason, data },
  reason,
})

describe('TOTP enrolment', () => {
  it('returns a base32 secret and an otpauth URL for Microsoft Authenticator', async () => {
    const { secret } = await setup()
    assert.match(secret, /^[A-Z2-7]{32}$/, '160-bit secret')
    const fake = fakeStore()
    const enrolment = await enrolTotp(fake.store, testSecretBox, UID, T0, USERNAME)
    const url = new URL(enrolment.otpauth_url)
    assert.equal(url.protocol, 'otpauth:')
    assert.equal(url.host, 'totp')
    assert.equal(decodeURIComponent(url.pathname), `/Careid:${USERNAME}`)
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      issuer: 'Careid',
      secret: enrolment.secret,
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    })
  })

  it('labels with the uid by default', async () => {
    const fake = fakeStore()
    const { otpauth_url } = await enrolTotp(fake.store, testSecretBox, UID, T0)
    assert.equal(decodeURIComponent(new URL(otpauth_url).pathname), `/Careid:${UID}`)
  })

  it('stores the secret sealed, never in clear', async () => {
    const { fake, secret } = await setup()
    const credential = await totpCredential(fake)
    assert.equal(credential.kind, 'totp')
    assert.ok(!credential.secret.includes(secret))
    assert.ok(!JSON.stringify(credential).includes(secret))
    assert.equal(testSecretBox.open(credential.secret), secret)
  })

  it('replaces a previous TOTP credential, so the old device stops working', async () => {
    const { fake, secret: old } = await setup()
    const { secret } = await enrolTotp(fake.store, testSecretBox, UID, T0 + STEP, USERNAME)
    const totps = (await fake.credentials.listByPerson(UID)).filter((c) => c.kind === TOTP_KIND)
    assert.equal(totps.length, 1)
    assert.notEqual(secret, old)
  })

  it('generates RFC 6238 codes (SHA-1, 6 digits, 30 s)', () => {
    // RFC 6238 appendix B test vector: ASCII "12345678901234567890", T = 59 s -> 94287082 (8 digits).
    const rfcSecret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
    assert.equal(currentTotpCode(rfcSecret, 59_000), '287082')
    assert.equal(currentTotpCode(rfcSecret, 1_111_111_109_000), '081804')
  })
})

describe('TOTP authenticator', () => {
  it('describes itself in CIS2 terms', () => {
    const { method } = totpAuthenticator()
    assert.deepEqual(
      { ...method, description: undefined },
      { id: 'totp', amr: 'TOTP', aal: 2, acr: 'AAL2_TOTP', label: 'Authenticator app', description: undefined },
    )
    assert.match(method.description, /Microsoft Authenticator/)
  })

  it('asks for the password, then the code, then signs in', async () => {
    const { fake, secret } = await setup()
    const authenticator = totpAuthenticator()
    assert.deepEqual(await authenticator.start(ctx(fake, T0, USERNAME)), {
      state: PASSWORD_STATE,
      view: { page: 'password', values: { username: USERNAME } },
    })
    const step1 = await authenticator.submit(ctx(fake), PASSWORD_STATE, RIGHT_PASSWORD)
    assert.deepEqual(step1, { type: 'continue', state: CODE_STATE, view: { page: 'totp' } })
    const step2 = await authenticator.submit(ctx(fake, T0 + 5_000), CODE_STATE, { code: currentTotpCode(secret, T0) })
    assert.deepEqual(step2, success)
    assert.deepEqual((await totpCredential(fake)).state, { last_step: Math.floor(T0 / STEP) })
  })

  it('uses the password authenticator rules at step 1', async () => {
    const { fake } = await setup()
    const result = await totpAuthenticator().submit(ctx(fake), PASSWORD_STATE, { username: USERNAME, password: 'no' })
    assert.deepEqual(result, {
      type: 'failure',
      state: PASSWORD_STATE,
      view: { page: 'password', values: { username: USERNAME }, error: 'invalid_credentials' },
      reason: 'invalid_credentials',
    })
    const unknown = await totpAuthenticator().submit(ctx(fake), PASSWORD_STATE, { username: 'x', password: 'no' })
    assert.deepEqual(unknown, {
      type: 'failure',
      state: PASSWORD_STATE,
      view: { page: 'password', values: { username: 'x' }, error: 'invalid_credentials' },
      reason: 'invalid_credentials',
    })
  })

  it('verifies the password at step 1 exactly once, whether or not the username exists', async () => {
    const { fake } = await setup()
    for (const username of [USERNAME, 'nobody']) {
      let calls = 0
      const authenticator = totpAuthenticator({
        verifyPassword: (hash, password) => {
          calls++
          return verifyPassword(hash, password)
        },
      })
      const result = await authenticator.submit(ctx(fake), PASSWORD_STATE, { username, password: 'no' })
      assert.equal(result.type === 'failure' && result.reason, 'invalid_credentials')
      assert.equal(calls, 1, username)
    }
  })

  it('tells a person without TOTP only once their password is right', async () => {
    const fake = fakeStore()
    await addPerson(fake.people, UID, USERNAME)
    await enrolPassword(fake.store, UID, PASSWORD, T0)
    const authenticator = totpAuthenticator()
    const wrong = await authenticator.submit(ctx(fake), PASSWORD_STATE, { username: USERNAME, password: 'guess' })
    assert.equal(wrong.type === 'failure' && wrong.reason, 'invalid_credentials')
    assert.deepEqual(await authenticator.submit(ctx(fake), PASSWORD_STATE, RIGHT_PASSWORD), {
      type: 'failure',
      state: PASSWORD_STATE,
      view: { page: 'password', values: { username: USERNAME }, error: 'not_enrolled' },
      reason: 'not_enrolled',
    })
  })

  it('accepts one step of drift either way and refuses two', async () => {
    for (const [offset, accepted] of [
      [-STEP, true],
      [STEP, true],
      [-2 * STEP, false],
      [2 * STEP, false],
    ] as const) {
      const { fake, secret } = await setup()
      const result = await totpAuthenticator().submit(ctx(fake), CODE_STATE, { code: currentTotpCode(secret, T0 + offset) })
      assert.deepEqual(result, accepted ? success : codeFailure('invalid_code'), `offset ${offset / STEP} steps`)
    }
  })

  it('accepts the code as the app shows it, with a space', async () => {
    const { fake, secret } = await setup()
    const code = currentTotpCode(secret, T0)
    const result = await totpAuthenticator().submit(ctx(fake), CODE_STATE, { code: `${code.slice(0, 3)} ${code.slice(3)}` })
    assert.deepEqual(result, success)
  })

  it('refuses a code used before, and any code of an earlier step', async () => {
    const { fake, secret } = await setup()
    const authenticator = totpAuthenticator()
    const code = currentTotpCode(secret, T0)
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, { code }), success)
    assert.deepEqual(await authenticator.submit(ctx(fake, T0 + 1_000), CODE_STATE, { code }), codeFailure('code_already_used'))

    const ahead = currentTotpCode(secret, T0 + STEP)
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, { code: ahead }), success)
    const behind = currentTotpCode(secret, T0 - STEP)
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, { code: behind }), codeFailure('code_already_used'))
    assert.deepEqual((await totpCredential(fake)).state, { last_step: Math.floor(T0 / STEP) + 1 })
  })

  it('lets exactly one of two concurrent submissions of the same code succeed', async () => {
    const { fake, secret } = await setup()
    const code = currentTotpCode(secret, T0)
    const results = await Promise.all([
      totpAuthenticator().submit(ctx(fake), CODE_STATE, { code }),
      totpAuthenticator().submit(ctx(fake), CODE_STATE, { code }),
    ])
    const successes = results.filter((r) => r.type === 'success')
    const refusals = results.filter((r) => r.type !== 'success')
    assert.deepEqual(successes, [success])
    assert.deepEqual(refusals, [codeFailure('code_already_used')])
  })

  it('asks for a missing code and refuses a malformed one, without counting either', async () => {
    const { fake } = await setup()
    const authenticator = totpAuthenticator()
    const before = await totpCredential(fake)
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, {}), codeFailure('missing_input'))
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, { code: '  ' }), codeFailure('missing_input'))
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, { code: '12345' }), codeFailure('invalid_code'))
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, { code: 'abcdef' }), codeFailure('invalid_code'))
    assert.deepEqual(await totpCredential(fake), before)
  })

  it('locks TOTP after 5 wrong codes, persisted, refusing the right code until it expires', async () => {
    const { fake, secret } = await setup()
    const authenticator = totpAuthenticator()
    const wrong = { code: wrongCode(secret, T0) }
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, wrong), codeFailure('invalid_code'))
    }
    assert.deepEqual((await totpCredential(fake)).state, { failures: 4 })
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, wrong), codeFailure('locked', { locked_minutes: 15 }))
    assert.deepEqual((await totpCredential(fake)).state, { failures: 0, locked_until: T0 + 15 * MINUTE })

    const later = T0 + 5 * MINUTE
    const right = { code: currentTotpCode(secret, later) }
    assert.deepEqual(await authenticator.submit(ctx(fake, later), CODE_STATE, right), codeFailure('locked', { locked_minutes: 10 }))
    // A fresh instance sees the lock, and says so right after the password.
    assert.deepEqual(await totpAuthenticator().submit(ctx(fake, later), PASSWORD_STATE, RIGHT_PASSWORD), {
      type: 'failure',
      state: PASSWORD_STATE,
      view: { page: 'password', values: { username: USERNAME }, error: 'locked', data: { locked_minutes: 10 } },
      reason: 'locked',
    })

    const expired = T0 + 15 * MINUTE
    const fresh = totpAuthenticator()
    assert.deepEqual(await fresh.submit(ctx(fake, expired), PASSWORD_STATE, RIGHT_PASSWORD), {
      type: 'continue',
      state: CODE_STATE,
      view: { page: 'totp' },
    })
    assert.deepEqual(await fresh.submit(ctx(fake, expired), CODE_STATE, { code: currentTotpCode(secret, expired) }), success)
    assert.deepEqual((await totpCredential(fake)).state, { last_step: Math.floor(expired / STEP) })
  })

  it('keeps the used step through failures, and resets the count on success', async () => {
    const { fake, secret } = await setup()
    const authenticator = totpAuthenticator({ totpLockout: { maxFailures: 3 } })
    const code = currentTotpCode(secret, T0)
    assert.deepEqual(await authenticator.submit(ctx(fake), CODE_STATE, { code }), success)
    const wrong = { code: wrongCode(secret, T0 + STEP) }
    await authenticator.submit(ctx(fake, T0 + STEP), CODE_STATE, wrong)
    await authenticator.submit(ctx(fake, T0 + STEP), CODE_STATE, wrong)
    assert.deepEqual((await totpCredential(fake)).state, { last_step: Math.floor(T0 / STEP), failures: 2 })
    assert.deepEqual(await authenticator.submit(ctx(fake, T0 + STEP), CODE_STATE, { code }), codeFailure('code_already_used'))
    const next = { code: currentTotpCode(secret, T0 + STEP) }
    assert.deepEqual(await authenticator.submit(ctx(fake, T0 + STEP), CODE_STATE, next), success)
    assert.deepEqual((await totpCredential(fake)).state, { last_step: Math.floor(T0 / STEP) + 1 })
  })

  it('keeps the password limits and the TOTP lockout apart', async () => {
    const { fake } = await setup()
    const authenticator = totpAuthenticator({ passwordThrottle: { backoff: [{ failures: 2, windowMs: 60_000 }] } })
    const wrong = { username: USERNAME, password: 'guess' }
    await authenticator.submit(ctx(fake), PASSWORD_STATE, wrong)
    const second = await authenticator.submit(ctx(fake), PASSWORD_STATE, wrong)
    assert.equal(second.type === 'failure' && second.reason, 'locked')
    assert.deepEqual((await totpCredential(fake)).state, {})
  })

  it('sends the person back to the password if TOTP was removed mid-sign-in', async () => {
    const { fake, secret } = await setup()
    await fake.credentials.remove((await totpCredential(fake)).id)
    const result = await totpAuthenticator().submit(ctx(fake), CODE_STATE, { code: currentTotpCode(secret, T0) })
    assert.deepEqual(result, {
      type: 'failure',
      state: PASSWORD_STATE,
      view: { page: 'password', error: 'not_enrolled' },
      reason: 'not_enrolled',
    })
  })

  it('rejects a journey state it did not make', async () => {
    const { fake } = await setup()
    await assert.rejects(totpAuthenticator().submit(ctx(fake), { step: 'code' }, { code: '123456' }), TypeError)
    await assert.rejects(totpAuthenticator().submit(ctx(fake), null, RIGHT_PASSWORD), TypeError)
  })
})
