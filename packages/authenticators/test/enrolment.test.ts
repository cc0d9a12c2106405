import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PASSWORD_KIND, TOTP_KIND, currentTotpCode, passwordEnrolment, totpEnrolment, verifyPassword } from '../src/index.ts'
import { fakeStore, testSecretBox } from './support/fake_store.ts'

const ALICE = '555000000001'
const BOB = '555000000002'
const T0 = Date.UTC(2025, 0, 6, 9, 0, 10)

describe('the enrolment port', () => {
  it('password: register stores an argon2id hash, lists it without the hash, and a second register replaces it', async () => {
    const fake = fakeStore()
    const passwords = passwordEnrolment(fake)
    const first = await passwords.register(ALICE, { password: 'first password' }, T0)
    assert.deepEqual(await passwords.list(ALICE), [{ id: first.id, kind: PASSWORD_KIND, created_at: T0 }])
    const second = await passwords.register(ALICE, { password: 'second password' }, T0 + 1)
    assert.deepEqual(await passwords.list(ALICE), [{ id: second.id, kind: PASSWORD_KIND, created_at: T0 + 1 }])
    const stored = await fake.credentials.get(second.id)
    assert.equal(await verifyPassword(stored?.secret ?? '', 'second password'), true)
    assert.equal(await fake.credentials.get(first.id), undefined)
  })

  it('TOTP: register returns the secret once and seals it; list and remove see only the TOTP credential', async () => {
    const fake = fakeStore()
    await passwordEnrolment(fake).register(ALICE, { password: 'a password' }, T0)
    const apps = totpEnrolment({ credentials: fake.credentials, secrets: testSecretBox })
    const enrolled = await apps.register(ALICE, { label: 'alice.smith' }, T0)
    assert.match(enrolled.otpauth_url, /^otpauth:\/\/totp\/.*alice\.smith/)
    const [listed] = await apps.list(ALICE)
    assert.deepEqual(listed && { kind: listed.kind, created_at: listed.created_at }, { kind: TOTP_KIND, created_at: T0 })
    const stored = await fake.credentials.get(listed?.id ?? '')
    assert.notEqual(stored?.secret, enrolled.secret)
    assert.equal(currentTotpCode(testSecretBox.open(stored?.secret ?? ''), T0), currentTotpCode(enrolled.secret, T0))
    assert.equal(await apps.remove(ALICE, listed?.id ?? ''), true)
    assert.deepEqual(await apps.list(ALICE), [])
    assert.equal((await passwordEnrolment(fake).list(ALICE)).length, 1)
  })

  it("remove refuses another person's credential and a credential of another kind, and changes nothing", async () => {
    const fake = fakeStore()
    const passwords = passwordEnrolment(fake)
    const apps = totpEnrolment({ credentials: fake.credentials, secrets: testSecretBox })
    const alices = await passwords.register(ALICE, { password: 'a password' }, T0)
    assert.equal(await passwords.remove(BOB, alices.id), false)
    assert.equal(await apps.remove(ALICE, alices.id), false)
    assert.equal(await passwords.remove(ALICE, 'no-such-credential'), false)
    assert.deepEqual(await passwords.list(ALICE), [{ id: alices.id, kind: PASSWORD_KIND, created_at: T0 }])
  })
})
