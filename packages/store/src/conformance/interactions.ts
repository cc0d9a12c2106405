/**
 * The conformance suite's part for `Store.interactions`: sign-in journeys in progress.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { T, MINUTE, interaction, type StoreTest } from './fixtures.ts'

export function interactionsConformance(test: StoreTest): void {
  describe('interactions', () => {
    test('get returns the interaction until it expires', async (store) => {
      await store.interactions.put(interaction('i1', { expires_at: T + 100 }))
      assert.deepStrictEqual(await store.interactions.get('i1', T + 99), interaction('i1', { expires_at: T + 100 }))
      assert.equal(await store.interactions.get('i1', T + 100), undefined)
      assert.equal(await store.interactions.get('nope', T), undefined)
    })

    test('put replaces by id', async (store) => {
      await store.interactions.put(interaction('i1'))
      const next = interaction('i1', { expires_at: T + 20 * MINUTE, payload: { step: 2, chosen: ['a', 'b'] } })
      await store.interactions.put(next)
      assert.deepStrictEqual(await store.interactions.get('i1', T), next)
    })

    test('remove is true once, then false', async (store) => {
      await store.interactions.put(interaction('i1'))
      assert.equal(await store.interactions.remove('i1'), true)
      assert.equal(await store.interactions.remove('i1'), false)
      assert.equal(await store.interactions.get('i1', T), undefined)
    })

    test('removeExpired deletes interactions with expires_at <= now', async (store) => {
      await store.interactions.put(interaction('due', { expires_at: T }))
      await store.interactions.put(interaction('past', { expires_at: T - 1 }))
      await store.interactions.put(interaction('live', { expires_at: T + 1 }))
      assert.equal(await store.interactions.removeExpired(T), 2)
      assert.deepStrictEqual(await store.interactions.get('live', T), interaction('live', { expires_at: T + 1 }))
      assert.equal(await store.interactions.removeExpired(T), 0)
    })
  })
}
