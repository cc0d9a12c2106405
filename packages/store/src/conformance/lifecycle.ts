/**
 * The conformance suite's part for `Store.ping` and `Store.close`: the store as a whole.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { StoreTest } from './fixtures.ts'

export function lifecycleConformance(test: StoreTest): void {
  describe('store', () => {
    test('ping is true for an open store', async (store) => {
      assert.equal(await store.ping(), true)
    })

    test('after close, ping is false and close may be called again', async (store) => {
      await store.close()
      assert.equal(await store.ping(), false)
      await store.close()
    })
  })
}
