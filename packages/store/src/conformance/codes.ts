/**
 * The conformance suite's part for `Store.codes`: single-use authorization codes.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { T, MINUTE, RACERS, code, race, countKinds, type StoreTest } from './fixtures.ts'

export function codesConformance(test: StoreTest): void {
  describe('codes', () => {
    test('the first redemption returns the code exactly; later ones are reuse', async (store) => {
      await store.codes.save(code('c1'))
      assert.deepStrictEqual(await store.codes.redeem('c1', T), { kind: 'first', code: code('c1') })
      assert.deepStrictEqual(await store.codes.redeem('c1', T + 1), { kind: 'reused', code: code('c1') })
      assert.deepStrictEqual(await store.codes.redeem('c1', T + 2), { kind: 'reused', code: code('c1') })
    })

    test('an unknown code is absent', async (store) => {
      assert.deepStrictEqual(await store.codes.redeem('nope', T), { kind: 'absent' })
    })

    test('a code expiring at t is absent at t and first at t - 1', async (store) => {
      await store.codes.save(code('c1', { expires_at: T + 100 }))
      assert.deepStrictEqual(await store.codes.redeem('c1', T + 100), { kind: 'absent' })
      assert.deepStrictEqual(await store.codes.redeem('c1', T + 99), { kind: 'first', code: code('c1', { expires_at: T + 100 }) })
    })

    test('reuse is detected after expiry while the code is retained', async (store) => {
      await store.codes.save(code('c1', { expires_at: T + 100 }))
      await store.codes.redeem('c1', T + 99)
      assert.deepStrictEqual(await store.codes.redeem('c1', T + 100 + MINUTE), { kind: 'reused', code: code('c1', { expires_at: T + 100 }) })
      assert.equal(await store.codes.removeExpired(T + 100 + MINUTE, 10 * MINUTE), 0)
      assert.equal((await store.codes.redeem('c1', T + 100 + 2 * MINUTE)).kind, 'reused')
    })

    test(`${RACERS} concurrent redemptions: one first, the rest reused`, async (store) => {
      await store.codes.save(code('c1'))
      const outcomes = await race(RACERS, () => store.codes.redeem('c1', T))
      assert.deepStrictEqual(countKinds(outcomes), { first: 1, reused: RACERS - 1 })
      for (const outcome of outcomes) assert.deepStrictEqual(outcome, { kind: outcome.kind, code: code('c1') })
    })

    test('save refuses a code_hash already stored, so a redeemed code stays redeemed', async (store) => {
      await store.codes.save(code('c1'))
      await store.codes.redeem('c1', T)
      await assert.rejects(store.codes.save(code('c1', { client_id: 'client-b' })))
      assert.deepStrictEqual(await store.codes.redeem('c1', T + 1), { kind: 'reused', code: code('c1') })
    })

    test('removeExpired deletes codes past expires_at + retainMs', async (store) => {
      const retain = 5 * MINUTE
      await store.codes.save(code('due', { expires_at: T - retain }))
      await store.codes.save(code('past', { expires_at: T - retain - 1 }))
      await store.codes.save(code('kept', { expires_at: T - retain + 1 }))
      await store.codes.redeem('kept', T - retain)
      assert.equal(await store.codes.removeExpired(T, retain), 2)
      assert.deepStrictEqual(await store.codes.redeem('due', T - retain - 1), { kind: 'absent' })
      assert.deepStrictEqual(await store.codes.redeem('past', T - retain - 2), { kind: 'absent' })
      assert.equal((await store.codes.redeem('kept', T)).kind, 'reused')
      assert.equal(await store.codes.removeExpired(T, retain), 0)
    })

    test('returns fresh objects', async (store) => {
      await store.codes.save(code('c1'))
      const outcome = await store.codes.redeem('c1', T)
      assert.equal(outcome.kind, 'first')
      if (outcome.kind === 'first') outcome.code.payload['nonce'] = 'mutated'
      assert.deepStrictEqual(await store.codes.redeem('c1', T), { kind: 'reused', code: code('c1') })
    })
  })
}
