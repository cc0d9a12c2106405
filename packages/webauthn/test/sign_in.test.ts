import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { challengeTtlMs, webAuthnState } from '../src/index.ts'
import { origin, softKey, world, type World } from './support/setup.ts'
import type { SoftAuthenticator } from './support/soft_authenticator.ts'

async function registered(kind: 'security_key' | 'windows_hello' | 'passkey', options: Parameters<typeof softKey>[0] = {}): Promise<{ w: World; key: SoftAuthenticator }> {
  const w = await world()
  const key = softKey({ ca: w.ca, ...options })
  const result = await w.register(kind, key)
  assert.equal(result.type, 'registered')
  return { w, key }
}

describe('WebAuthn sign-in', () => {
  it('asks for any discoverable credential for the RP ID, with user verification: the page names no one', async () => {
    const w = await world()
    const { options, view } = await w.startSignIn('security_key')
    assert.deepEqual(options.allowCredentials, [])
    assert.equal(options.userVerification, 'required')
    assert.equal(options.rpId, 'careid.test')
    assert.equal(view.page, 'webauthn')
    assert.equal(view.data?.['kind' as never], 'security_key')
  })

  it('signs in with a security key and Windows Hello at AAL3 (FIDO2), and a synced passkey at AAL2 (PASSKEY), storing the counter', async () => {
    for (const [kind, options, amr, aal] of [
      ['security_key', {}, 'FIDO2', 3],
      ['windows_hello', {}, 'FIDO2', 3],
      ['passkey', { ca: undefined, attestation: 'none' as const, backupEligible: true, backedUp: true, counterStep: 0 }, 'PASSKEY', 2],
      ['passkey', {}, 'PASSKEY', 3],
    ] as const) {
      const { w, key } = await registered(kind, options)
      for (let i = 0; i < 2; i++) {
        const { state, options: request } = await w.startSignIn(kind)
        const result = await w.submitSignIn(kind, state, key.get(request, origin))
        assert.deepEqual(result, { type: 'success', uid: 'u100', amr: [amr], aal }, kind)
      }
      assert.equal(webAuthnState(w.store.rows.get(key.credentials[0]!.id))?.counter, key.credentials[0]!.counter)
      assert.equal(w.store.audited.length, 0)
    }
  })

  it('refuses a counter that did not increase (a cloned key): counter_regression, audited with the counters, counter kept', async () => {
    const { w, key } = await registered('security_key')
    const first = await w.startSignIn('security_key')
    assert.equal((await w.submitSignIn('security_key', first.state, key.get(first.options, origin, { counter: 7 }))).type, 'success')
    for (const counter of [7, 3]) {
      const { state, options } = await w.startSignIn('security_key')
      const result = await w.submitSignIn('security_key', state, key.get(options, origin, { counter }))
      assert.equal(result.type === 'failure' && result.reason, 'counter_regression')
      assert.equal(result.type === 'failure' && result.view.error, 'counter_regression')
    }
    assert.deepEqual(
      w.store.audited.map((e) => [e.type, e.subject, e.detail?.['stored_counter'], e.detail?.['received_counter']]),
      [['webauthn.counter_regression', 'u100', 7, 7], ['webauthn.counter_regression', 'u100', 7, 3]],
    )
    assert.equal(webAuthnState(w.store.rows.get(key.credentials[0]!.id))?.counter, 7)
  })

  it('refuses an assertion without user verification: user_not_verified, audited', async () => {
    const { w, key } = await registered('passkey')
    key.options.userVerified = false
    const { state, options } = await w.startSignIn('passkey')
    const result = await w.submitSignIn('passkey', state, key.get(options, origin))
    assert.equal(result.type === 'failure' && result.reason, 'user_not_verified')
    assert.deepEqual(w.store.audited.map((e) => [e.type, e.subject, e.detail?.['uv']]), [['webauthn.user_not_verified', 'u100', false]])
  })

  it('refuses an assertion for another origin or RP ID: wrong_origin, audited', async () => {
    const { w, key } = await registered('security_key')
    const a = await w.startSignIn('security_key')
    const otherOrigin = await w.submitSignIn('security_key', a.state, key.get(a.options, 'http://localhost:9999'))
    assert.equal(otherOrigin.type === 'failure' && otherOrigin.reason, 'wrong_origin')
    const b = await w.startSignIn('security_key')
    const otherRp = await w.submitSignIn('security_key', b.state, key.get(b.options, origin, { rpId: 'evil.example' }))
    assert.equal(otherRp.type === 'failure' && otherRp.reason, 'wrong_origin')
    assert.deepEqual(w.store.audited.map((e) => [e.type, e.subject]), [['webauthn.wrong_origin', 'u100'], ['webauthn.wrong_origin', 'u100']])
  })

  it('refuses a replayed assertion (same challenge again, or another sign-in\'s) and an expired challenge: challenge_replayed, audited', async () => {
    const { w, key } = await registered('security_key')
    const now = Date.now()
    const a = await w.startSignIn('security_key', now)
    const assertion = key.get(a.options, origin)
    assert.equal((await w.submitSignIn('security_key', a.state, assertion, now)).type, 'success')
    const again = await w.submitSignIn('security_key', a.state, assertion, now)
    assert.equal(again.type === 'failure' && again.reason, 'challenge_replayed')
    const b = await w.startSignIn('security_key', now)
    const elsewhere = await w.submitSignIn('security_key', b.state, assertion, now)
    assert.equal(elsewhere.type === 'failure' && elsewhere.reason, 'challenge_replayed')
    const c = await w.startSignIn('security_key', now)
    const late = await w.submitSignIn('security_key', c.state, key.get(c.options, origin), now + challengeTtlMs)
    assert.equal(late.type === 'failure' && late.reason, 'challenge_replayed')
    assert.deepEqual(w.store.audited.map((e) => [e.type, e.detail?.['why']]), [
      ['webauthn.challenge_replayed', 'already answered'],
      ['webauthn.challenge_replayed', 'another challenge'],
      ['webauthn.challenge_replayed', 'expired'],
    ])
  })

  it('refuses a credential not registered, registered as another kind, with another user handle or a bad signature: unknown_credential', async () => {
    const { w, key } = await registered('security_key')
    const stranger = softKey({ ca: w.ca })
    await stranger.create({ ...(await w.startSignIn('security_key')).options, rp: { id: 'careid.test', name: 'x' }, user: { id: 'AAAA', name: 'x', displayName: 'x' }, pubKeyCredParams: [] } as never, origin)
    const cases: Array<[string, (options: never) => unknown]> = [
      ['not registered', (options) => stranger.get(options, origin)],
      [
        'bad signature',
        (options) => {
          const assertion = key.get(options, origin) as { response: { signature: string } }
          const signature = Buffer.from(assertion.response.signature, 'base64url')
          signature[signature.length - 1]! ^= 1
          assertion.response.signature = signature.toString('base64url')
          return assertion
        },
      ],
      [
        'another user handle',
        (options) => {
          const assertion = key.get(options, origin) as { response: { userHandle: string } }
          assertion.response.userHandle = 'dTEwMA'
          return assertion
        },
      ],
    ]
    for (const [what, answer] of cases) {
      const { state, options } = await w.startSignIn('security_key')
      const result = await w.submitSignIn('security_key', state, answer(options as never))
      assert.equal(result.type === 'failure' && result.reason, 'unknown_credential', what)
    }
    const { state, options } = await w.startSignIn('passkey')
    const otherKind = await w.submitSignIn('passkey', state, key.get(options, origin))
    assert.equal(otherKind.type === 'failure' && otherKind.reason, 'unknown_credential')
    assert.equal(w.store.audited.length, 0)
  })

  it('caps at AAL2 an AAL3 credential that now reports backup eligibility, and remembers it', async () => {
    const { w, key } = await registered('passkey')
    key.options.backupEligible = true
    for (let i = 0; i < 2; i++) {
      const { state, options } = await w.startSignIn('passkey')
      const result = await w.submitSignIn('passkey', state, key.get(options, origin))
      assert.deepEqual(result, { type: 'success', uid: 'u100', amr: ['PASSKEY'], aal: 2 })
      key.options.backupEligible = false
    }
    assert.equal(webAuthnState(w.store.rows.get(key.credentials[0]!.id))?.backup_eligible, true)
  })

  it('answers no answer, or one that does not parse, with webauthn_cancelled and a fresh challenge', async () => {
    const w = await world()
    const { state } = await w.startSignIn('windows_hello')
    for (const response of ['', 'null', '[]', '{"id":"x","response":{"clientDataJSON":"e30"}}']) {
      const result = await w.submitSignIn('windows_hello', state, response)
      assert.equal(result.type === 'failure' && result.reason, 'webauthn_cancelled', response)
      assert.notEqual(result.type === 'failure' && (result.state as { challenge: string }).challenge, (state as { challenge: string }).challenge)
    }
  })
})
