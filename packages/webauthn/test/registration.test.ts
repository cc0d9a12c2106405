import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { challengeTtlMs, webAuthnCredentialKind, webAuthnEnroller, webAuthnState } from '../src/index.ts'
import { enrolmentContext } from './support/memory_context.ts'
import { modelAaguid, origin, rp, softKey, world } from './support/setup.ts'

describe('WebAuthn registration: the level a credential reaches', () => {
  it('registers an attested, user-verified, device-bound security key at AAL3, with a random user handle and the options WebAuthn needs', async () => {
    const w = await world()
    const enroller = webAuthnEnroller('security_key', rp, () => w.trust)
    const { view } = await enroller.start({ ...w.store, ...enrolmentContext('u100', 3, Date.now()) })
    const options = JSON.parse(String(view.data?.['options' as never]))
    assert.equal(options.rp.id, 'careid.test')
    assert.equal(options.user.name, 'u100.user')
    assert.notEqual(Buffer.from(options.user.id, 'base64url').toString('utf8'), 'u100')
    assert.equal(options.attestation, 'direct')
    assert.deepEqual(options.authenticatorSelection, { residentKey: 'required', requireResidentKey: true, userVerification: 'required', authenticatorAttachment: 'cross-platform' })
    assert.deepEqual(options.hints, ['security-key'])

    const key = softKey({ ca: w.ca })
    const result = await w.register('security_key', key)
    assert.equal(result.type, 'registered')
    assert.equal(result.type === 'registered' && result.aal, 3)
    const record = w.store.rows.get(key.credentials[0]!.id)
    const state = webAuthnState(record)
    assert.equal(record?.uid, 'u100')
    assert.equal(state?.level, 3)
    assert.equal(state?.webauthn_kind, 'security_key')
    assert.equal(state?.aaguid, modelAaguid)
    assert.equal(state?.model, 'Test Key 5')
    assert.equal(state?.user_handle, key.credentials[0]!.userHandle)
    assert.equal(w.store.audited.length, 0)
  })

  for (const [what, options, trusted] of [
    ["an attestation from a CA the metadata does not name", {}, false],
    ["'none' attestation", { attestation: 'none' as const }, true],
    ['self attestation', { attestation: 'self' as const }, true],
    ['a backup-eligible (synced) credential', { backupEligible: true, backedUp: true }, true],
  ] as const) {
    it(`refuses a security key and Windows Hello with ${what}: attestation_not_trusted, audited, nothing stored`, async () => {
      for (const kind of ['security_key', 'windows_hello'] as const) {
        const w = await world({ trusted })
        const result = await w.register(kind, softKey({ ca: w.ca, ...options }))
        assert.equal(result.type, 'failure')
        assert.equal(result.type === 'failure' && result.reason, 'attestation_not_trusted')
        assert.equal(result.type === 'failure' && result.view.error, 'attestation_not_trusted')
        assert.equal(w.store.rows.size, 0)
        assert.deepEqual(w.store.audited.map((e) => [e.type, e.subject, e.detail?.['ceremony'], e.detail?.['method']]), [['webauthn.attestation_not_trusted', 'u100', 'registration', kind]])
      }
    })
  }

  it('refuses a model its metadata reports compromised', async () => {
    const w = await world()
    w.trust.get(modelAaguid)!.compromised = true
    const result = await w.register('security_key', softKey({ ca: w.ca }))
    assert.equal(result.type === 'failure' && result.reason, 'attestation_not_trusted')
  })

  it('refuses an attestation whose signature does not verify', async () => {
    const w = await world()
    const result = await w.register('security_key', softKey({ ca: w.ca }), {
      tamper: (response) => {
        const r = response as { response: { clientDataJSON: string } }
        // Same challenge and origin, but not the bytes the attestation signed.
        const data = JSON.parse(Buffer.from(r.response.clientDataJSON, 'base64url').toString())
        r.response.clientDataJSON = Buffer.from(JSON.stringify({ ...data, extra: 1 })).toString('base64url')
      },
    })
    assert.equal(result.type === 'failure' && result.reason, 'attestation_not_trusted')
    assert.equal(w.store.rows.size, 0)
  })

  it('keeps a synced passkey at AAL2 and a device-bound attested one at AAL3', async () => {
    const w = await world()
    const synced = await w.register('passkey', softKey({ attestation: 'none', backupEligible: true, backedUp: true }))
    assert.equal(synced.type === 'registered' && synced.aal, 2)
    const bound = await w.register('passkey', softKey({ ca: w.ca }))
    assert.equal(bound.type === 'registered' && bound.aal, 3)
    const unattested = await w.register('passkey', softKey({ attestation: 'none' }))
    assert.equal(unattested.type === 'registered' && unattested.aal, 2)
    assert.deepEqual([...w.store.rows.values()].map((r) => webAuthnState(r)?.level), [2, 3, 2])
  })

  it("refuses a credential above the grant's level (method_not_accepted) and keeps one within it", async () => {
    const w = await world()
    const above = await w.register('passkey', softKey({ ca: w.ca }), { maxAal: 2 })
    assert.equal(above.type === 'failure' && above.reason, 'method_not_accepted')
    assert.equal(above.type === 'failure' && above.view.data?.['max_aal' as never], 2)
    assert.equal(w.store.rows.size, 0)
    const within = await w.register('passkey', softKey({ attestation: 'none', backupEligible: true }), { maxAal: 2 })
    assert.equal(within.type === 'registered' && within.aal, 2)
  })

  it('refuses an authenticator that did not verify the user: user_not_verified, audited', async () => {
    const w = await world()
    const result = await w.register('passkey', softKey({ ca: w.ca, userVerified: false }))
    assert.equal(result.type === 'failure' && result.reason, 'user_not_verified')
    assert.deepEqual(w.store.audited.map((e) => e.type), ['webauthn.user_not_verified'])
    assert.equal(w.store.rows.size, 0)
  })

  it('refuses an answer made for another origin or RP ID: wrong_origin, audited', async () => {
    const w = await world()
    const other = await w.register('security_key', softKey({ ca: w.ca }), { origin: 'https://careid.test.evil.example' })
    assert.equal(other.type === 'failure' && other.reason, 'wrong_origin')
    const rpId = await w.register('security_key', softKey({ ca: w.ca }), { rpId: 'evil.example' })
    assert.equal(rpId.type === 'failure' && rpId.reason, 'wrong_origin')
    assert.deepEqual(w.store.audited.map((e) => [e.type, e.detail?.['origin'] ?? e.detail?.['why']]), [['webauthn.wrong_origin', 'https://careid.test.evil.example'], ['webauthn.wrong_origin', 'rp id hash']])
    assert.equal(w.store.rows.size, 0)
  })

  it('takes one answer per challenge, in time: challenge_replayed for a second answer or a late one', async () => {
    const w = await world()
    const enroller = webAuthnEnroller('security_key', rp, () => w.trust)
    const now = Date.now()
    const ctx = { ...w.store, ...enrolmentContext('u100', 3, now) }
    const { state, view } = await enroller.start(ctx)
    const response = JSON.stringify(await softKey({ ca: w.ca }).create(JSON.parse(String(view.data?.['options' as never])), origin))
    const late = await enroller.submit({ ...ctx, now: now + challengeTtlMs }, state, { response })
    assert.equal(late.type === 'failure' && late.reason, 'challenge_replayed')
    const first = await enroller.submit(ctx, state, { response })
    assert.equal(first.type, 'registered')
    const again = await enroller.submit(ctx, state, { response })
    assert.equal(again.type === 'failure' && again.reason, 'challenge_replayed')
    assert.deepEqual(w.store.audited.map((e) => [e.type, e.detail?.['why']]), [['webauthn.challenge_replayed', 'expired'], ['webauthn.challenge_replayed', 'already answered']])
    assert.equal(w.store.rows.size, 1)
  })

  it('answers no answer, or one that does not parse, with webauthn_cancelled and a fresh challenge', async () => {
    const w = await world()
    const enroller = webAuthnEnroller('passkey', rp, () => w.trust)
    const ctx = { ...w.store, ...enrolmentContext('u100', 3, Date.now()) }
    const { state } = await enroller.start(ctx)
    for (const response of ['', '{', '{"id":1}', JSON.stringify({ id: 'x', response: { clientDataJSON: 'AAAA' } })]) {
      const result = await enroller.submit(ctx, state, { response })
      assert.equal(result.type === 'failure' && result.reason, 'webauthn_cancelled', response)
      assert.notEqual(result.type === 'failure' && (result.state as { challenge: string }).challenge, (state as { challenge: string }).challenge)
    }
    assert.equal(w.store.audited.length, 0)
  })

  it("keeps one user handle per person and excludes the person's registered credentials", async () => {
    const w = await world()
    const first = softKey({ ca: w.ca })
    await w.register('security_key', first)
    const enroller = webAuthnEnroller('passkey', rp, () => w.trust)
    const { view } = await enroller.start({ ...w.store, ...enrolmentContext('u100', 3, Date.now()) })
    const options = JSON.parse(String(view.data?.['options' as never]))
    assert.equal(options.user.id, first.credentials[0]!.userHandle)
    assert.deepEqual(options.excludeCredentials.map((c: { id: string }) => c.id), [first.credentials[0]!.id])
    assert.equal(options.authenticatorSelection.authenticatorAttachment, undefined)
    const other = await enroller.start({ ...w.store, ...enrolmentContext('u200', 3, Date.now()) })
    assert.notEqual(JSON.parse(String(other.view.data?.['options' as never])).user.id, first.credentials[0]!.userHandle)
  })

  it('lists and removes a person\'s own credentials of each kind, and no one else\'s', async () => {
    const w = await world()
    const key = softKey({ ca: w.ca })
    await w.register('security_key', key)
    await w.register('passkey', softKey({ attestation: 'none', backupEligible: true }))
    const keys = webAuthnCredentialKind(w.store.credentials, 'security_key')
    const passkeys = webAuthnCredentialKind(w.store.credentials, 'passkey')
    const listed = await keys.list('u100')
    assert.deepEqual(listed.map((c) => [c.id, c.kind, c.detail]), [[key.credentials[0]!.id, 'security_key', { level: 'AAL3', authenticator: 'Test Key 5', synced: false }]])
    assert.deepEqual((await passkeys.list('u100')).map((c) => c.detail), [{ level: 'AAL2', authenticator: 'Not attested', synced: true }])
    assert.equal(await keys.remove('u200', key.credentials[0]!.id), false)
    assert.equal(await passkeys.remove('u100', key.credentials[0]!.id), false)
    assert.equal(await keys.remove('u100', key.credentials[0]!.id), true)
    assert.deepEqual(await keys.list('u100'), [])
    assert.equal(w.store.rows.size, 1)
  })
})
