/**
 * The conformance suite's part for `Store.credentials`: authenticator credentials and their
 * versioned state.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { RACERS, credential, race, sortedBy, type StoreTest } from './fixtures.ts'

export function credentialsConformance(test: StoreTest): void {
  describe('credentials', () => {
    test('round-trips by id and lists only the person\'s credentials', async (store) => {
      const mine = [credential('c1', 'u1'), credential('c2', 'u1', { kind: 'totp', secret: 'enc:totp', state: {} })]
      for (const c of mine) await store.credentials.put(c)
      await store.credentials.put(credential('c3', 'u2'))
      assert.deepStrictEqual(await store.credentials.get('c2'), mine[1])
      assert.deepStrictEqual(sortedBy(await store.credentials.listByPerson('u1'), (c) => c.id), mine)
      assert.deepStrictEqual(await store.credentials.listByPerson('nobody'), [])
      assert.equal(await store.credentials.get('nope'), undefined)
    })

    test('put replaces by id', async (store) => {
      await store.credentials.put(credential('c1', 'u1'))
      const replacement = credential('c1', 'u1', { secret: 'new', state: { failures: 3 }, version: 7 })
      await store.credentials.put(replacement)
      assert.deepStrictEqual(await store.credentials.get('c1'), replacement)
    })

    test('updateState applies only at the expected version, bumping it', async (store) => {
      await store.credentials.put(credential('c1', 'u1', { version: 4 }))
      assert.equal(await store.credentials.updateState('c1', 4, { failures: 1 }), true)
      const updated = credential('c1', 'u1', { version: 5, state: { failures: 1 } })
      assert.deepStrictEqual(await store.credentials.get('c1'), updated)
      assert.equal(await store.credentials.updateState('c1', 4, { failures: 99 }), false)
      assert.deepStrictEqual(await store.credentials.get('c1'), updated)
      assert.equal(await store.credentials.updateState('unknown', 0, {}), false)
    })

    test('concurrent updateState at one version: exactly one wins', async (store) => {
      await store.credentials.put(credential('c1', 'u1'))
      const results = await race(RACERS, (i) => store.credentials.updateState('c1', 0, { writer: i }))
      const winners = results.flatMap((won, i) => (won ? [i] : []))
      assert.equal(winners.length, 1)
      assert.deepStrictEqual(await store.credentials.get('c1'), credential('c1', 'u1', { version: 1, state: { writer: winners[0] ?? -1 } }))
    })

    test('remove is true once, then false', async (store) => {
      await store.credentials.put(credential('c1', 'u1'))
      await store.credentials.put(credential('c2', 'u1'))
      assert.equal(await store.credentials.remove('c1'), true)
      assert.equal(await store.credentials.remove('c1'), false)
      assert.equal(await store.credentials.get('c1'), undefined)
      assert.deepStrictEqual(await store.credentials.listByPerson('u1'), [credential('c2', 'u1')])
    })
  })
}
