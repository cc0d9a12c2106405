/**
 * The authenticator app's enroller: a new secret shown (grouped text, otpauth:// URL, QR code) and
 * kept sealed in the ceremony's state; stored only once a current code confirms it, replacing the
 * old app; the confirming code spent; refused under a grant below AAL2. And the credential kinds:
 * the password stays while the app that needs it is there.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { EnrolmentContext, EnrolmentGrant, EnrolmentResult, Json } from '@careid/ports'
import { TOTP_KIND, credentialKinds, currentTotpCode, passwordEnrolment, totpAuthenticator, totpEnroller, totpEnrolment } from '../../src/index.ts'
import { fakeStore, testSecretBox } from '../support/fake_store.ts'

const ALICE = '555000000001'
const T0 = Date.UTC(2025, 0, 6, 9, 0, 10)
const grant: EnrolmentGrant = { uid: ALICE, maxAal: 2, via: 'session' }

function context(fake: ReturnType<typeof fakeStore>, now: number, g: EnrolmentGrant = grant): EnrolmentContext & { credentials: typeof fake.credentials; secrets: typeof testSecretBox } {
  return { now, grant: g, username: 'alice.smith', display_name: 'Alice Smith', credentials: fake.credentials, secrets: testSecretBox }
}

describe('the authenticator app enroller', () => {
  it('shows a new secret and keeps it sealed until a current code confirms it; then replaces the old app, and the confirming code cannot sign in', async () => {
    const fake = fakeStore()
    await passwordEnrolment(fake).register(ALICE, { password: 'a password' }, T0)
    const old = await totpEnrolment({ credentials: fake.credentials, secrets: testSecretBox }).register(ALICE, { label: 'alice.smith' }, T0)
    const enroller = totpEnroller()
    assert.equal(enroller.maxAal, 2)
    const { state, view } = await enroller.start(context(fake, T0))
    assert.equal(view.page, 'totp_enrol')
    const data = view.data as { secret: string; otpauth_url: string; qr: string }
    const secret = data.secret.replaceAll(' ', '')
    assert.match(data.secret, /^([A-Z2-7]{4} )*[A-Z2-7]{1,4}$/)
    assert.match(data.otpauth_url, new RegExp(`^otpauth://totp/Careid:alice\\.smith\\?.*secret=${secret}`))
    assert.match(data.qr, /^data:image\/png;base64,/)
    assert.ok(!JSON.stringify(state).includes(secret), 'the state keeps it sealed')

    const wrong = await enroller.submit(context(fake, T0), state, { code: currentTotpCode(secret, T0 + 10 * 60_000) })
    assert.equal(wrong.type, 'failure')
    assert.equal((wrong as Extract<EnrolmentResult, { type: 'failure' }>).reason, 'invalid_code')
    const missing = await enroller.submit(context(fake, T0), state, {})
    assert.equal((missing as Extract<EnrolmentResult, { type: 'failure' }>).reason, 'missing_input')
    const [before] = (await fake.credentials.listByPerson(ALICE)).filter((c) => c.kind === TOTP_KIND)
    assert.equal(testSecretBox.open(before?.secret ?? ''), old.secret, 'nothing stored yet')

    const code = currentTotpCode(secret, T0)
    const done = await enroller.submit(context(fake, T0), state, { code: `${code.slice(0, 3)} ${code.slice(3)}` })
    assert.equal(done.type, 'registered')
    const registered = done as Extract<EnrolmentResult, { type: 'registered' }>
    assert.equal(registered.aal, 2)
    const apps = (await fake.credentials.listByPerson(ALICE)).filter((c) => c.kind === TOTP_KIND)
    assert.deepEqual(apps.map((c) => c.id), [registered.credential.id], 'the old app is replaced')
    assert.equal(testSecretBox.open(apps[0]?.secret ?? ''), secret)

    // Signing in with the code that confirmed it: already used.
    const authenticator = totpAuthenticator()
    const parts = { people: fake.people, credentials: fake.credentials, rates: fake.rates, secrets: testSecretBox }
    await fake.people.put(ALICE, 'alice.smith', { uid: ALICE, username: 'alice.smith' })
    const first = await authenticator.submit({ now: T0, ...parts }, { step: 'password' }, { username: 'alice.smith', password: 'a password' })
    assert.equal(first.type, 'continue')
    const second = await authenticator.submit({ now: T0, ...parts }, (first as { state: Json }).state, { code })
    assert.equal(second.type, 'failure')
    assert.equal((second as { reason: string }).reason, 'code_already_used')
  })

  it('is refused under a grant below AAL2, storing nothing', async () => {
    const fake = fakeStore()
    const enroller = totpEnroller()
    const { state, view } = await enroller.start(context(fake, T0, { uid: ALICE, maxAal: 1, via: 'session' }))
    const secret = (view.data as { secret: string }).secret.replaceAll(' ', '')
    const refused = await enroller.submit(context(fake, T0, { uid: ALICE, maxAal: 1, via: 'session' }), state, { code: currentTotpCode(secret, T0) })
    assert.equal((refused as { reason: string }).reason, 'method_not_accepted')
    assert.deepEqual(await fake.credentials.listByPerson(ALICE), [])
  })
})

describe('the credential kinds', () => {
  it('keep the password while the authenticator app needs it', async () => {
    const fake = fakeStore()
    const password = await passwordEnrolment(fake).register(ALICE, { password: 'a password' }, T0)
    await totpEnrolment({ credentials: fake.credentials, secrets: testSecretBox }).register(ALICE, {}, T0)
    const [passwords, apps] = credentialKinds(fake)
    assert.equal(passwords?.label, 'Password')
    assert.equal(apps?.label, 'Authenticator app')
    assert.equal(await passwords?.remove(ALICE, password.id), false)
    const [app] = (await apps?.list(ALICE)) ?? []
    assert.equal(await apps?.remove(ALICE, app?.id ?? ''), true)
    assert.equal(await passwords?.remove(ALICE, password.id), true)
    assert.deepEqual(await fake.credentials.listByPerson(ALICE), [])
  })
})
