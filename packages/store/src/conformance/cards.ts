/**
 * The conformance suite's part for `Store.cards`: issued smartcards, their status and failed
 * attempts.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import { T, RACERS, card, race, type StoreTest } from './fixtures.ts'

export function cardsConformance(test: StoreTest): void {
  describe('cards', () => {
    test('round-trips with and without optional fields, and lists by person', async (store) => {
      const mine = [
        card('0a', 'u1', { unlock_secrets_sealed: 'v1.sealed-secrets' }),
        card('0b', 'u1', { kind: 'pkcs11', created_at: T + 1, failed_attempts: 3, locked_at: T + 2, status: 'revoked', revoked_at: T + 3, authentication_key: 'MFkwEwYH' }),
      ]
      for (const c of mine) await store.cards.put(c)
      await store.cards.put(card('0c', 'u2', { created_at: T + 2 }))
      assert.deepStrictEqual(await store.cards.get('0a'), mine[0])
      assert.deepStrictEqual(await store.cards.get('0b'), mine[1])
      assert.deepStrictEqual(await store.cards.listByPerson('u1'), mine)
      assert.deepStrictEqual(await store.cards.listByPerson('nobody'), [])
      assert.deepStrictEqual(await store.cards.list(), [...mine, card('0c', 'u2', { created_at: T + 2 })])
      assert.equal(await store.cards.get('ff'), undefined)
    })

    test('put replaces by serial, dropping fields the new record lacks', async (store) => {
      await store.cards.put(card('0a', 'u1', { failed_attempts: 3, locked_at: T }))
      await store.cards.put(card('0a', 'u1'))
      assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
      assert.equal((await store.cards.list()).length, 1)
    })

    test('each begun attempt counts; three unproven ones lock the card and later ones are refused', async (store) => {
      await store.cards.put(card('0a', 'u1'))
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 1), { outcome: 'begun', attemptsLeft: 2, card: card('0a', 'u1', { failed_attempts: 1 }) })
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 2), { outcome: 'begun', attemptsLeft: 1, card: card('0a', 'u1', { failed_attempts: 2 }) })
      // The third is still begun, unlocked: the right passcode on the third try must open the card.
      const third = card('0a', 'u1', { failed_attempts: 3 })
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 3), { outcome: 'begun', attemptsLeft: 0, card: third })
      assert.deepStrictEqual(await store.cards.get('0a'), third)
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 4), { outcome: 'locked' })
      const locked = card('0a', 'u1', { failed_attempts: 3, locked_at: T + 4 })
      assert.deepStrictEqual(await store.cards.get('0a'), locked)
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 5), { outcome: 'locked' })
      assert.deepStrictEqual(await store.cards.get('0a'), locked, 'the time of locking stays the first')
    })

    test('the right passcode on the third attempt opens the card and resets the count', async (store) => {
      await store.cards.put(card('0a', 'u1'))
      for (let i = 0; i < 3; i++) assert.equal((await store.cards.beginPasscodeAttempt('0a', T)).outcome, 'begun')
      assert.equal(await store.cards.passcodeProven('0a'), true)
      assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
    })

    test('a wrong passcode on the last attempt locks the card at once; earlier wrong ones do not', async (store) => {
      await store.cards.put(card('0a', 'u1'))
      await store.cards.beginPasscodeAttempt('0a', T + 1)
      assert.equal(await store.cards.passcodeWrong('0a', T + 1), false)
      await store.cards.beginPasscodeAttempt('0a', T + 2)
      assert.equal(await store.cards.passcodeWrong('0a', T + 2), false)
      assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1', { failed_attempts: 2 }))
      await store.cards.beginPasscodeAttempt('0a', T + 3)
      assert.equal(await store.cards.passcodeWrong('0a', T + 3), true)
      const locked = card('0a', 'u1', { failed_attempts: 3, locked_at: T + 3 })
      assert.deepStrictEqual(await store.cards.get('0a'), locked)
      assert.equal(await store.cards.passcodeWrong('0a', T + 9), true)
      assert.deepStrictEqual(await store.cards.get('0a'), locked, 'the time of locking stays the first')
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 10), { outcome: 'locked' })
    })

    test('a wrong passcode after the count was reset by a right one locks nothing', async (store) => {
      await store.cards.put(card('0a', 'u1'))
      for (let i = 0; i < 3; i++) await store.cards.beginPasscodeAttempt('0a', T)
      assert.equal(await store.cards.passcodeProven('0a'), true)
      assert.equal(await store.cards.passcodeWrong('0a', T + 1), false)
      assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
      assert.equal(await store.cards.passcodeWrong('ff', T), false)
      await store.cards.put(card('0b', 'u1', { status: 'revoked', revoked_at: T, failed_attempts: 3 }))
      assert.equal(await store.cards.passcodeWrong('0b', T + 1), false)
      assert.equal((await store.cards.get('0b'))?.locked_at, undefined)
    })

    test('concurrent wrong passcodes on the last attempts lock the card once', async (store) => {
      await store.cards.put(card('0a', 'u1', { failed_attempts: 3 }))
      const results = await race(RACERS, (i) => store.cards.passcodeWrong('0a', T + i))
      assert.ok(results.every((locked) => locked))
      const stored = await store.cards.get('0a')
      assert.equal(stored?.failed_attempts, 3)
      assert.equal(typeof stored?.locked_at, 'number')
      assert.ok((stored?.locked_at ?? -1) >= T && (stored?.locked_at ?? Infinity) < T + RACERS)
    })

    test("lock records a token's own PIN lock on an active card, keeping the first time", async (store) => {
      await store.cards.put(card('0a', 'u1', { kind: 'pkcs11' }))
      assert.equal(await store.cards.lock('0a', T + 5), true)
      const locked = card('0a', 'u1', { kind: 'pkcs11', failed_attempts: 3, locked_at: T + 5 })
      assert.deepStrictEqual(await store.cards.get('0a'), locked)
      assert.equal(await store.cards.lock('0a', T + 9), true)
      assert.deepStrictEqual(await store.cards.get('0a'), locked)
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 10), { outcome: 'locked' })
      const revoked = card('0b', 'u1', { kind: 'pkcs11', status: 'revoked', revoked_at: T })
      await store.cards.put(revoked)
      assert.equal(await store.cards.lock('0b', T + 1), false)
      assert.deepStrictEqual(await store.cards.get('0b'), revoked)
      assert.equal(await store.cards.lock('ff', T), false)
    })

    test('concurrent attempts never count past the limit', async (store) => {
      await store.cards.put(card('0a', 'u1'))
      const results = await race(RACERS, (i) => store.cards.beginPasscodeAttempt('0a', T + i))
      const begun = results.filter((r) => r.outcome === 'begun')
      assert.equal(begun.length, 3)
      assert.equal(results.filter((r) => r.outcome === 'locked').length, RACERS - 3)
      assert.deepStrictEqual(begun.map((r) => (r.outcome === 'begun' ? r.attemptsLeft : -1)).sort(), [0, 1, 2])
      const stored = await store.cards.get('0a')
      assert.equal(stored?.failed_attempts, 3)
      assert.equal(typeof stored?.locked_at, 'number')
    })

    test('a proven passcode resets the count, but not on a locked or revoked card', async (store) => {
      await store.cards.put(card('0a', 'u1'))
      await store.cards.beginPasscodeAttempt('0a', T)
      await store.cards.beginPasscodeAttempt('0a', T)
      assert.equal(await store.cards.passcodeProven('0a'), true)
      assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
      // Proven after every attempt: the count never reaches the limit.
      for (let i = 0; i < 5; i++) {
        assert.equal((await store.cards.beginPasscodeAttempt('0a', T)).outcome, 'begun')
        assert.equal(await store.cards.passcodeProven('0a'), true)
      }
      for (let i = 0; i < 4; i++) await store.cards.beginPasscodeAttempt('0a', T + 9)
      assert.equal(await store.cards.passcodeProven('0a'), false)
      assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1', { failed_attempts: 3, locked_at: T + 9 }))
      await store.cards.put(card('0b', 'u1', { status: 'revoked', revoked_at: T, failed_attempts: 1 }))
      assert.equal(await store.cards.passcodeProven('0b'), false)
      assert.equal((await store.cards.get('0b'))?.failed_attempts, 1)
      assert.equal(await store.cards.passcodeProven('ff'), false)
    })

    test('unlock clears the count and the lock of an active card only', async (store) => {
      await store.cards.put(card('0a', 'u1', { failed_attempts: 3, locked_at: T }))
      assert.equal(await store.cards.unlock('0a', T + 1), true)
      assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
      assert.equal((await store.cards.beginPasscodeAttempt('0a', T + 2)).outcome, 'begun')
      await store.cards.put(card('0b', 'u1', { status: 'revoked', revoked_at: T, failed_attempts: 3, locked_at: T }))
      assert.equal(await store.cards.unlock('0b', T + 1), false)
      assert.deepStrictEqual(await store.cards.get('0b'), card('0b', 'u1', { status: 'revoked', revoked_at: T, failed_attempts: 3, locked_at: T }))
      assert.equal(await store.cards.unlock('ff', T), false)
    })

    test('revoke is idempotent, keeps the first time, and refuses later attempts', async (store) => {
      await store.cards.put(card('0a', 'u1', { failed_attempts: 1 }))
      assert.equal(await store.cards.revoke('0a', T + 5), true)
      assert.equal(await store.cards.revoke('0a', T + 9), true)
      const revoked = card('0a', 'u1', { failed_attempts: 1, status: 'revoked', revoked_at: T + 5 })
      assert.deepStrictEqual(await store.cards.get('0a'), revoked)
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 10), { outcome: 'revoked' })
      assert.deepStrictEqual(await store.cards.get('0a'), revoked)
      // Revoked wins over locked: the answer tells the holder the card is gone for good.
      await store.cards.put(card('0b', 'u1', { failed_attempts: 3, locked_at: T }))
      await store.cards.revoke('0b', T + 1)
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0b', T + 2), { outcome: 'revoked' })
      assert.equal(await store.cards.revoke('ff', T), false)
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('ff', T), { outcome: 'unknown' })
    })

    test('the card authority is stored once; a second one is refused in favour of the first', async (store) => {
      assert.equal(await store.cards.getAuthority(), undefined)
      const first = { certificate: 'ca-1', private_key_sealed: 'v1.sealed-1', created_at: T }
      assert.deepStrictEqual(await store.cards.initAuthority(first), first)
      assert.deepStrictEqual(await store.cards.initAuthority({ certificate: 'ca-2', private_key_sealed: 'v1.sealed-2', created_at: T + 1 }), first)
      assert.deepStrictEqual(await store.cards.getAuthority(), first)
    })

    test('concurrent first authorities: every caller gets the same one', async (store) => {
      const results = await race(RACERS, (i) => store.cards.initAuthority({ certificate: `ca-${i}`, private_key_sealed: `sealed-${i}`, created_at: T + i }))
      const stored = await store.cards.getAuthority()
      assert.ok(stored)
      for (const result of results) assert.deepStrictEqual(result, stored)
    })

    test('returns fresh objects', async (store) => {
      await store.cards.put(card('0a', 'u1'))
      const first = await store.cards.get('0a')
      assert.ok(first)
      first.failed_attempts = 99
      first.status = 'revoked'
      assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
    })
  })
}
