/**
 * The conformance suite's part for `Store.grants`: what a person granted a client, and its
 * revocation.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { T, MINUTE, RACERS, grant, refreshToken, type StoreTest } from './fixtures.ts'

export function grantsConformance(test: StoreTest): void {
  describe('grants', () => {
    test('round-trips with and without revoked_at', async (store) => {
      await store.grants.put(grant('g1'))
      await store.grants.put(grant('g2', { revoked_at: T + 1 }))
      assert.deepStrictEqual(await store.grants.get('g1'), grant('g1'))
      assert.deepStrictEqual(await store.grants.get('g2'), grant('g2', { revoked_at: T + 1 }))
      assert.equal(await store.grants.get('nope'), undefined)
    })

    test('put replaces by grant_id', async (store) => {
      await store.grants.put(grant('g1'))
      await store.grants.put(grant('g1', { scope: 'openid', expires_at: T + 1 }))
      assert.deepStrictEqual(await store.grants.get('g1'), grant('g1', { scope: 'openid', expires_at: T + 1 }))
    })

    test('put cannot undo a revocation', async (store) => {
      await store.grants.put(grant('g1'))
      await store.grants.revoke('g1', T + 5)
      await store.grants.put(grant('g1', { scope: 'openid' }))
      await store.grants.put(grant('g1', { scope: 'openid', revoked_at: T + 9 }))
      assert.deepStrictEqual(await store.grants.get('g1'), grant('g1', { scope: 'openid', revoked_at: T + 5 }))
    })

    test('revoke marks the grant once: the first revocation time stays', async (store) => {
      await store.grants.put(grant('g1'))
      await store.grants.revoke('g1', T + 5)
      await store.grants.revoke('g1', T + 9)
      assert.deepStrictEqual(await store.grants.get('g1'), grant('g1', { revoked_at: T + 5 }))
    })

    test('revoke of an unknown grant does nothing', async (store) => {
      await store.grants.revoke('nope', T)
      assert.equal(await store.grants.get('nope'), undefined)
    })

    test('revoke deletes the grant\'s refresh tokens, and only those', async (store) => {
      await store.grants.put(grant('g1'))
      await store.grants.put(grant('g2'))
      await store.refreshTokens.put(refreshToken('r1', 'g1'))
      await store.refreshTokens.put(refreshToken('r1b', 'g1', { rotated_at: T }))
      await store.refreshTokens.put(refreshToken('r2', 'g2'))
      await store.grants.revoke('g1', T + 1)
      assert.equal(await store.refreshTokens.get('r1'), undefined)
      assert.equal(await store.refreshTokens.get('r1b'), undefined)
      assert.deepStrictEqual(await store.refreshTokens.rotate('r1', refreshToken('s1', 'g1'), T + 2), { kind: 'absent' })
      assert.deepStrictEqual(await store.refreshTokens.rotate('r1b', refreshToken('s1b', 'g1'), T + 2), { kind: 'absent' })
      assert.deepStrictEqual(await store.refreshTokens.get('r2'), refreshToken('r2', 'g2'))
    })

    test('round-trips the sign-in facts, with and without a selected role', async (store) => {
      const signIn = { acr: 'AAL3_ANY', amr: ['N3_SMARTCARD'], aal: 3 as const, auth_time: T - 5 * MINUTE, id_assurance_level: '3' }
      await store.grants.put(grant('g1', { sign_in: { ...signIn, selected_roleid: '555000000001-1' } }))
      await store.grants.put(grant('g2', { sign_in: signIn }))
      assert.deepStrictEqual(await store.grants.get('g1'), grant('g1', { sign_in: { ...signIn, selected_roleid: '555000000001-1' } }))
      assert.deepStrictEqual(await store.grants.get('g2'), grant('g2', { sign_in: signIn }))
    })

    test('revokeBySid revokes every grant of the session, deletes their refresh tokens, and nothing else', async (store) => {
      await store.grants.put(grant('a1', { sid: 'ended' }))
      await store.grants.put(grant('a2', { sid: 'ended', client_id: 'client-b' }))
      await store.grants.put(grant('b1', { sid: 'other' }))
      await store.refreshTokens.put(refreshToken('ra1', 'a1'))
      await store.refreshTokens.put(refreshToken('ra2', 'a2', { client_id: 'client-b' }))
      await store.refreshTokens.put(refreshToken('rb1', 'b1'))
      assert.equal(await store.grants.revokeBySid('ended', T + 5), 2)
      assert.deepStrictEqual(await store.grants.get('a1'), grant('a1', { sid: 'ended', revoked_at: T + 5 }))
      assert.deepStrictEqual(await store.grants.get('a2'), grant('a2', { sid: 'ended', client_id: 'client-b', revoked_at: T + 5 }))
      assert.equal(await store.refreshTokens.get('ra1'), undefined)
      assert.equal(await store.refreshTokens.get('ra2'), undefined)
      assert.deepStrictEqual(await store.refreshTokens.rotate('ra1', refreshToken('s1', 'a1'), T + 6), { kind: 'absent' })
      assert.deepStrictEqual(await store.grants.get('b1'), grant('b1', { sid: 'other' }))
      assert.deepStrictEqual(await store.refreshTokens.get('rb1'), refreshToken('rb1', 'b1'))
      assert.equal(await store.grants.revokeBySid('none', T + 5), 0)
    })

    test('revokeBySid is idempotent: earlier revocation times stay, and only new ones count', async (store) => {
      await store.grants.put(grant('a1', { sid: 'ended' }))
      await store.grants.put(grant('a2', { sid: 'ended' }))
      await store.grants.revoke('a1', T + 1)
      assert.equal(await store.grants.revokeBySid('ended', T + 5), 1)
      assert.equal(await store.grants.revokeBySid('ended', T + 9), 0)
      assert.deepStrictEqual(await store.grants.get('a1'), grant('a1', { sid: 'ended', revoked_at: T + 1 }))
      assert.deepStrictEqual(await store.grants.get('a2'), grant('a2', { sid: 'ended', revoked_at: T + 5 }))
    })

    test('revokeBySid racing rotations leaves no usable refresh token', async (store) => {
      for (let i = 0; i < RACERS; i++) {
        await store.grants.put(grant(`g${i}`, { sid: 'ended' }))
        await store.refreshTokens.put(refreshToken(`r${i}`, `g${i}`))
      }
      const [revoked] = await Promise.all([
        store.grants.revokeBySid('ended', T + 5),
        ...Array.from({ length: RACERS }, (_, i) => store.refreshTokens.rotate(`r${i}`, refreshToken(`s${i}`, `g${i}`), T + 5)),
      ])
      assert.equal(revoked, RACERS)
      for (let i = 0; i < RACERS; i++) {
        assert.equal(await store.refreshTokens.get(`s${i}`), undefined, `successor s${i} survived`)
        assert.deepStrictEqual(await store.refreshTokens.rotate(`r${i}`, refreshToken(`t${i}`, `g${i}`), T + 6), { kind: 'absent' })
      }
    })

    test('removeExpired deletes grants with expires_at <= now, with their refresh tokens', async (store) => {
      await store.grants.put(grant('due', { expires_at: T }))
      await store.grants.put(grant('past', { expires_at: T - 1 }))
      await store.grants.put(grant('live', { expires_at: T + 1 }))
      await store.refreshTokens.put(refreshToken('r-due', 'due', { expires_at: T }))
      await store.refreshTokens.put(refreshToken('r-live', 'live', { expires_at: T + 1 }))
      assert.equal(await store.grants.removeExpired(T), 2)
      assert.equal(await store.grants.get('due'), undefined)
      assert.equal(await store.grants.get('past'), undefined)
      assert.deepStrictEqual(await store.grants.get('live'), grant('live', { expires_at: T + 1 }))
      assert.equal(await store.refreshTokens.get('r-due'), undefined)
      assert.deepStrictEqual(await store.refreshTokens.get('r-live'), refreshToken('r-live', 'live', { expires_at: T + 1 }))
      assert.equal(await store.grants.removeExpired(T), 0)
    })
  })
}
