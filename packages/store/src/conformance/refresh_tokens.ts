/**
 * The conformance suite's part for `Store.refreshTokens`: single-use refresh tokens within their
 * grant.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { GrantRecord, Store } from '@careid/ports'
import { T, RACERS, grant, refreshToken, race, countKinds, type StoreTest } from './fixtures.ts'

export function refreshTokensConformance(test: StoreTest): void {
  describe('refresh tokens', () => {
    async function withGrant(store: Store, grantChanges: Partial<GrantRecord> = {}): Promise<void> {
      await store.grants.put(grant('g', grantChanges))
    }

    test('round-trips with and without rotated_at', async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('r1', 'g'))
      await store.refreshTokens.put(refreshToken('r2', 'g', { rotated_at: T + 3 }))
      assert.deepStrictEqual(await store.refreshTokens.get('r1'), refreshToken('r1', 'g'))
      assert.deepStrictEqual(await store.refreshTokens.get('r2'), refreshToken('r2', 'g', { rotated_at: T + 3 }))
      assert.equal(await store.refreshTokens.get('nope'), undefined)
    })

    test('put refuses a token_hash already stored', async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('r1', 'g', { rotated_at: T }))
      await assert.rejects(store.refreshTokens.put(refreshToken('r1', 'g')))
      assert.deepStrictEqual(await store.refreshTokens.get('r1'), refreshToken('r1', 'g', { rotated_at: T }))
    })

    test('rotate marks the token rotated, returns it and stores the successor', async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('r1', 'g'))
      const successor = refreshToken('r2', 'g', { created_at: T + 10 })
      const rotated = refreshToken('r1', 'g', { rotated_at: T + 10 })
      assert.deepStrictEqual(await store.refreshTokens.rotate('r1', successor, T + 10), { kind: 'rotated', token: rotated })
      assert.deepStrictEqual(await store.refreshTokens.get('r1'), rotated)
      assert.deepStrictEqual(await store.refreshTokens.get('r2'), successor)
    })

    test('rotating a rotated token is reuse, and stores no successor', async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('r1', 'g'))
      await store.refreshTokens.rotate('r1', refreshToken('r2', 'g'), T + 10)
      assert.deepStrictEqual(await store.refreshTokens.rotate('r1', refreshToken('r3', 'g'), T + 20), {
        kind: 'reused',
        token: refreshToken('r1', 'g', { rotated_at: T + 10 }),
      })
      assert.equal(await store.refreshTokens.get('r3'), undefined)
    })

    test('a successor rotates in turn', async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('r1', 'g'))
      await store.refreshTokens.rotate('r1', refreshToken('r2', 'g'), T + 10)
      const outcome = await store.refreshTokens.rotate('r2', refreshToken('r3', 'g'), T + 20)
      assert.deepStrictEqual(outcome, { kind: 'rotated', token: refreshToken('r2', 'g', { rotated_at: T + 20 }) })
      assert.deepStrictEqual(await store.refreshTokens.get('r3'), refreshToken('r3', 'g'))
    })

    test('a token expiring at t is absent at t and rotates at t - 1', async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('at-t', 'g', { expires_at: T + 100 }))
      await store.refreshTokens.put(refreshToken('before-t', 'g', { expires_at: T + 100 }))
      assert.deepStrictEqual(await store.refreshTokens.rotate('at-t', refreshToken('s1', 'g'), T + 100), { kind: 'absent' })
      assert.deepStrictEqual(await store.refreshTokens.get('at-t'), refreshToken('at-t', 'g', { expires_at: T + 100 }))
      assert.equal(await store.refreshTokens.get('s1'), undefined)
      const outcome = await store.refreshTokens.rotate('before-t', refreshToken('s2', 'g'), T + 99)
      assert.equal(outcome.kind, 'rotated')
    })

    test('a rotated token past its expiry is absent', async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('r1', 'g', { expires_at: T + 100 }))
      await store.refreshTokens.rotate('r1', refreshToken('r2', 'g'), T + 50)
      assert.deepStrictEqual(await store.refreshTokens.rotate('r1', refreshToken('r3', 'g'), T + 100), { kind: 'absent' })
    })

    test('an unknown token is absent', async (store) => {
      await withGrant(store)
      assert.deepStrictEqual(await store.refreshTokens.rotate('nope', refreshToken('s', 'g'), T), { kind: 'absent' })
      assert.equal(await store.refreshTokens.get('s'), undefined)
    })

    test('a token of a revoked grant is absent, even one stored after the revocation', async (store) => {
      await withGrant(store)
      await store.grants.revoke('g', T + 1)
      await store.refreshTokens.put(refreshToken('late', 'g'))
      assert.deepStrictEqual(await store.refreshTokens.rotate('late', refreshToken('s', 'g'), T + 2), { kind: 'absent' })
      assert.equal(await store.refreshTokens.get('s'), undefined)
    })

    test('a token of an expired grant is absent', async (store) => {
      await withGrant(store, { expires_at: T + 10 })
      await store.refreshTokens.put(refreshToken('r1', 'g', { expires_at: T + 100 }))
      assert.deepStrictEqual(await store.refreshTokens.rotate('r1', refreshToken('s', 'g'), T + 10), { kind: 'absent' })
    })

    test(`${RACERS} concurrent rotations: one rotated, the rest reused, one successor stored`, async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('r1', 'g'))
      const outcomes = await race(RACERS, (i) => store.refreshTokens.rotate('r1', refreshToken(`s${i}`, 'g'), T + 10))
      assert.deepStrictEqual(countKinds(outcomes), { rotated: 1, reused: RACERS - 1 })
      const rotated = refreshToken('r1', 'g', { rotated_at: T + 10 })
      for (const outcome of outcomes) assert.deepStrictEqual(outcome, { kind: outcome.kind, token: rotated })
      const winner = outcomes.findIndex((o) => o.kind === 'rotated')
      for (let i = 0; i < RACERS; i++) {
        assert.deepStrictEqual(await store.refreshTokens.get(`s${i}`), i === winner ? refreshToken(`s${i}`, 'g') : undefined)
      }
    })

    test('a rotation whose successor cannot be stored changes nothing', async (store) => {
      await withGrant(store)
      await store.refreshTokens.put(refreshToken('r1', 'g'))
      await store.refreshTokens.put(refreshToken('taken', 'g', { created_at: T + 1 }))
      await assert.rejects(store.refreshTokens.rotate('r1', refreshToken('taken', 'g'), T + 10))
      assert.deepStrictEqual(await store.refreshTokens.get('r1'), refreshToken('r1', 'g'))
      assert.deepStrictEqual(await store.refreshTokens.get('taken'), refreshToken('taken', 'g', { created_at: T + 1 }))
      assert.equal((await store.refreshTokens.rotate('r1', refreshToken('r2', 'g'), T + 11)).kind, 'rotated')
    })
  })
}
