/**
 * The conformance suite's part for `Store.replay`: identifiers seen once (client assertion `jti`s).
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { T, RACERS, race, type StoreTest } from './fixtures.ts'

export function replayConformance(test: StoreTest): void {
  describe('replay cache', () => {
    test('markUsed is true the first time and false while recorded', async (store) => {
      assert.equal(await store.replay.has('jti:1', T), false)
      assert.equal(await store.replay.markUsed('jti:1', T + 100, T), true)
      assert.equal(await store.replay.markUsed('jti:1', T + 500, T + 99), false)
      assert.equal(await store.replay.has('jti:1', T + 99), true)
      assert.equal(await store.replay.has('jti:2', T), false)
    })

    test('a marker lasts until expiresAt; the key may then be recorded afresh', async (store) => {
      await store.replay.markUsed('jti:1', T + 100, T)
      assert.equal(await store.replay.has('jti:1', T + 100), false)
      assert.equal(await store.replay.markUsed('jti:1', T + 300, T + 100), true)
      assert.equal(await store.replay.has('jti:1', T + 299), true)
      assert.equal(await store.replay.markUsed('jti:1', T + 900, T + 299), false)
    })

    test(`${RACERS} concurrent markUsed: exactly one true`, async (store) => {
      const results = await race(RACERS, () => store.replay.markUsed('jti:race', T + 100, T))
      assert.equal(results.filter((r) => r).length, 1)
    })

    test('removeExpired deletes markers with expiresAt <= now', async (store) => {
      await store.replay.markUsed('due', T, T - 10)
      await store.replay.markUsed('past', T - 1, T - 10)
      await store.replay.markUsed('live', T + 1, T - 10)
      assert.equal(await store.replay.removeExpired(T), 2)
      assert.equal(await store.replay.has('live', T), true)
      assert.equal(await store.replay.removeExpired(T), 0)
    })
  })
}
