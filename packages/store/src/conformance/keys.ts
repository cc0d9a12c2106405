/**
 * The conformance suite's part for `Store.keys`: the signing keys and their rotation states.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { T, MINUTE, RACERS, signingKey, race, sortedBy, type StoreTest } from './fixtures.ts'

export function keysConformance(test: StoreTest): void {
  describe('keys', () => {
    test('round-trips keys with and without remove_at', async (store) => {
      const keys = [signingKey('a', 'retired', { remove_at: T + 5 * MINUTE }), signingKey('b', 'active'), signingKey('c', 'next')]
      for (const key of keys) await store.keys.put(key)
      assert.deepStrictEqual(sortedBy(await store.keys.list(), (k) => k.kid), keys)
    })

    test('put replaces by kid', async (store) => {
      await store.keys.put(signingKey('a', 'next'))
      const replacement = signingKey('a', 'next', { alg: 'ES256', activate_at: T + 9 * MINUTE, public_jwk: { kty: 'EC', crv: 'P-256' } })
      await store.keys.put(replacement)
      assert.deepStrictEqual(await store.keys.list(), [replacement])
    })

    test('put refuses a second active key and changes nothing', async (store) => {
      await store.keys.put(signingKey('a', 'active'))
      await assert.rejects(store.keys.put(signingKey('b', 'active')))
      assert.deepStrictEqual(await store.keys.list(), [signingKey('a', 'active')])
    })

    test('activate makes a next key the only active one and retires the previous', async (store) => {
      await store.keys.put(signingKey('old', 'active'))
      await store.keys.put(signingKey('new', 'next'))
      await store.keys.put(signingKey('later', 'next'))
      assert.equal(await store.keys.activate('new', T + 99 * MINUTE), true)
      assert.deepStrictEqual(sortedBy(await store.keys.list(), (k) => k.kid), [
        signingKey('later', 'next'),
        signingKey('new', 'active'),
        signingKey('old', 'retired', { remove_at: T + 99 * MINUTE }),
      ])
    })

    test('activate works when no key is active yet', async (store) => {
      await store.keys.put(signingKey('first', 'next'))
      assert.equal(await store.keys.activate('first', T), true)
      assert.deepStrictEqual(await store.keys.list(), [signingKey('first', 'active')])
    })

    test('activate refuses anything but a next key and changes nothing', async (store) => {
      const keys = [signingKey('active', 'active'), signingKey('next', 'next'), signingKey('retired', 'retired', { remove_at: T })]
      for (const key of keys) await store.keys.put(key)
      assert.equal(await store.keys.activate('active', T + MINUTE), false)
      assert.equal(await store.keys.activate('retired', T + MINUTE), false)
      assert.equal(await store.keys.activate('unknown', T + MINUTE), false)
      assert.deepStrictEqual(sortedBy(await store.keys.list(), (k) => k.kid), keys)
    })

    test('concurrent activations of one key: exactly one succeeds', async (store) => {
      await store.keys.put(signingKey('old', 'active'))
      await store.keys.put(signingKey('new', 'next'))
      const results = await race(RACERS, () => store.keys.activate('new', T + MINUTE))
      assert.equal(results.filter((r) => r).length, 1)
      assert.deepStrictEqual(sortedBy(await store.keys.list(), (k) => k.kid), [
        signingKey('new', 'active'),
        signingKey('old', 'retired', { remove_at: T + MINUTE }),
      ])
    })

    test('concurrent activations of different keys leave exactly one active', async (store) => {
      await store.keys.put(signingKey('old', 'active'))
      for (const kid of ['x', 'y', 'z']) await store.keys.put(signingKey(kid, 'next'))
      const results = await Promise.all(['x', 'y', 'z'].map((kid) => store.keys.activate(kid, T + MINUTE)))
      assert.deepStrictEqual(results, [true, true, true])
      const states = (await store.keys.list()).map((k) => k.state).sort()
      assert.deepStrictEqual(states, ['active', 'retired', 'retired', 'retired'])
    })

    test('removeExpired deletes retired keys whose remove_at <= now, and only those', async (store) => {
      await store.keys.put(signingKey('due', 'retired', { remove_at: T }))
      await store.keys.put(signingKey('past', 'retired', { remove_at: T - MINUTE }))
      await store.keys.put(signingKey('notyet', 'retired', { remove_at: T + 1 }))
      await store.keys.put(signingKey('active', 'active', { remove_at: T - MINUTE }))
      await store.keys.put(signingKey('next', 'next', { remove_at: T - MINUTE }))
      assert.deepStrictEqual((await store.keys.removeExpired(T)).sort(), ['due', 'past'])
      assert.deepStrictEqual((await store.keys.list()).map((k) => k.kid).sort(), ['active', 'next', 'notyet'])
      assert.deepStrictEqual(await store.keys.removeExpired(T), [])
    })
  })
}
