/**
 * The conformance suite's part for `Store.rates`: fixed-window hit counters.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { rateWindowEnd } from '@careid/ports'
import { T, MINUTE, RACERS, race, type StoreTest } from './fixtures.ts'

export function ratesConformance(test: StoreTest): void {
  describe('rate counters', () => {
    /** Where the minute-long window holding T ends: the next one starts there. */
    const windowEnd = rateWindowEnd(MINUTE, T)

    test('hit counts the hits on a key in its window, this one included; keys count apart', async (store) => {
      assert.equal(await store.rates.hit('user-ip-1', MINUTE, windowEnd - MINUTE), 1)
      assert.equal(await store.rates.hit('user-ip-1', MINUTE, T), 2)
      assert.equal(await store.rates.hit('user-ip-2', MINUTE, T), 1)
      assert.equal(await store.rates.hit('user-ip-1', MINUTE, windowEnd - 1), 3)
    })

    test('windows start at multiples of windowMs: the first hit in the next window is 1', async (store) => {
      await store.rates.hit('k', MINUTE, T)
      await store.rates.hit('k', MINUTE, T)
      assert.equal(await store.rates.hit('k', MINUTE, windowEnd), 1)
      assert.equal(await store.rates.hit('k', MINUTE, windowEnd + MINUTE - 1), 2)
      assert.equal(await store.rates.hit('k', MINUTE, windowEnd + MINUTE), 1)
    })

    test(`${RACERS} concurrent hits on one key in one window get the counts 1 to ${RACERS}, each once`, async (store) => {
      const counts = await race(RACERS, () => store.rates.hit('race', MINUTE, T))
      assert.deepStrictEqual(
        [...counts].sort((a, b) => a - b),
        Array.from({ length: RACERS }, (_, i) => i + 1),
      )
      assert.equal(await store.rates.hit('race', MINUTE, T), RACERS + 1)
    })

    test('peek reads the hits on a key in its window without counting one; 0 for none', async (store) => {
      assert.equal(await store.rates.peek('peeked', MINUTE, T), 0)
      await store.rates.hit('peeked', MINUTE, T)
      await store.rates.hit('peeked', MINUTE, T)
      assert.equal(await store.rates.peek('peeked', MINUTE, windowEnd - 1), 2)
      assert.equal(await store.rates.peek('peeked', MINUTE, T), 2, 'peeking counted nothing')
      assert.equal(await store.rates.peek('peeked', MINUTE, windowEnd), 0, 'the next window has none')
      assert.equal(await store.rates.hit('peeked', MINUTE, T), 3)
      await assert.rejects(store.rates.peek('peeked', 0, T), RangeError)
    })

    test('a window that is not a positive whole number of milliseconds is refused and counts nothing', async (store) => {
      for (const windowMs of [0, -MINUTE, 1.5, Number.NaN]) await assert.rejects(store.rates.hit('k', windowMs, T), RangeError)
      assert.equal(await store.rates.hit('k', MINUTE, T), 1)
    })

    test('removeExpired leaves the counters of windows that have not ended', async (store) => {
      await store.rates.hit('ended', MINUTE, windowEnd - MINUTE)
      await store.rates.hit('live', MINUTE, windowEnd)
      const removed = await store.rates.removeExpired(windowEnd)
      // SQL deletes the ended window's row; Redis has already let such a key expire by itself.
      assert.ok(removed === 0 || removed === 1, `removed ${removed}`)
      assert.equal(await store.rates.hit('live', MINUTE, windowEnd + 1), 2)
      assert.equal(await store.rates.removeExpired(windowEnd), 0)
    })
  })
}
