/**
 * The conformance suite's part for `Store.outbox`: back-channel logout notifications waiting to be
 * sent.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { LogoutNotification } from '@careid/ports'
import { T, MINUTE, notification, race, type StoreTest } from './fixtures.ts'

export function outboxConformance(test: StoreTest): void {
  describe('logout outbox', () => {
    const lease = MINUTE

    test('enqueue stores notifications as given', async (store) => {
      const a = notification('n1')
      const b = notification('n2', { client_id: 'client-b', attempts: 2, next_attempt_at: T + 5, last_error: 'HTTP 503' })
      await store.outbox.enqueue([a, b])
      assert.deepStrictEqual(await store.outbox.get('n1'), a)
      assert.deepStrictEqual(await store.outbox.get('n2'), b)
      assert.equal(await store.outbox.get('nope'), undefined)
    })

    test('a second notification for the same client and sid is ignored', async (store) => {
      await store.outbox.enqueue([notification('n1', { sid: 's' })])
      await store.outbox.enqueue([notification('n2', { sid: 's', created_at: T + 1 })])
      await store.outbox.enqueue([notification('n3', { sid: 't' }), notification('n4', { sid: 't' })])
      await store.outbox.enqueue([notification('n5', { sid: 's', client_id: 'client-b' })])
      assert.deepStrictEqual(await store.outbox.get('n1'), notification('n1', { sid: 's' }))
      assert.equal(await store.outbox.get('n2'), undefined)
      assert.deepStrictEqual(await store.outbox.get('n3'), notification('n3', { sid: 't' }))
      assert.equal(await store.outbox.get('n4'), undefined)
      assert.deepStrictEqual(await store.outbox.get('n5'), notification('n5', { sid: 's', client_id: 'client-b' }))
      assert.deepStrictEqual(await store.outbox.counts(), { pending: 3, delivered: 0, gave_up: 0 })
    })

    test('enqueue of nothing is harmless', async (store) => {
      await store.outbox.enqueue([])
      assert.deepStrictEqual(await store.outbox.counts(), { pending: 0, delivered: 0, gave_up: 0 })
    })

    test('claimDue claims due notifications in next_attempt_at order, up to limit', async (store) => {
      await store.outbox.enqueue([
        notification('late', { next_attempt_at: T + 1 }),
        notification('second', { next_attempt_at: T - 5 }),
        notification('now', { next_attempt_at: T }),
        notification('first', { next_attempt_at: T - 10 }),
      ])
      const claimed = await store.outbox.claimDue('node-a', T, lease, 2)
      const asClaimed = (n: LogoutNotification, by: string) => ({ ...n, claimed_by: by, claim_expires_at: T + lease })
      assert.deepStrictEqual(claimed, [
        asClaimed(notification('first', { next_attempt_at: T - 10 }), 'node-a'),
        asClaimed(notification('second', { next_attempt_at: T - 5 }), 'node-a'),
      ])
      assert.deepStrictEqual(await store.outbox.get('first'), claimed[0])
      assert.deepStrictEqual(await store.outbox.claimDue('node-b', T, lease, 10), [asClaimed(notification('now', { next_attempt_at: T }), 'node-b')])
      assert.deepStrictEqual(await store.outbox.claimDue('node-b', T, lease, 10), [])
      assert.deepStrictEqual(await store.outbox.get('late'), notification('late', { next_attempt_at: T + 1 }))
    })

    test('a claim blocks other nodes until its lease ends', async (store) => {
      await store.outbox.enqueue([notification('n1')])
      assert.equal((await store.outbox.claimDue('node-a', T, lease, 10)).length, 1)
      assert.deepStrictEqual(await store.outbox.claimDue('node-b', T + lease - 1, lease, 10), [])
      const taken = await store.outbox.claimDue('node-b', T + lease, lease, 10)
      assert.deepStrictEqual(taken, [{ ...notification('n1'), claimed_by: 'node-b', claim_expires_at: T + 2 * lease }])
    })

    test('concurrent claimers never get the same notification', async (store) => {
      const ids = Array.from({ length: 12 }, (_, i) => `n${String(i).padStart(2, '0')}`)
      await store.outbox.enqueue(ids.map((id, i) => notification(id, { next_attempt_at: T - i })))
      const nodes = ['node-a', 'node-b']
      const batches = await race(8, (i) => store.outbox.claimDue(nodes[i % 2] ?? 'node-a', T, lease, 3))
      const claimed = batches.flat().map((n) => n.id)
      assert.deepStrictEqual([...claimed].sort(), ids)
      for (const [i, batch] of batches.entries()) {
        for (const n of batch) assert.equal((await store.outbox.get(n.id))?.claimed_by, nodes[i % 2])
      }
    })

    test('markDelivered by the holder counts the attempt, releases and never hands it out again', async (store) => {
      await store.outbox.enqueue([notification('n1')])
      await store.outbox.claimDue('node-a', T, lease, 10)
      await store.outbox.markDelivered('n1', 'node-a', T + 7)
      assert.deepStrictEqual(await store.outbox.get('n1'), notification('n1', { attempts: 1, delivered_at: T + 7 }))
      assert.deepStrictEqual(await store.outbox.claimDue('node-b', T + 10 * lease, lease, 10), [])
      assert.deepStrictEqual(await store.outbox.counts(), { pending: 0, delivered: 1, gave_up: 0 })
    })

    test('markFailed records the error and makes it due again at nextAttemptAt', async (store) => {
      await store.outbox.enqueue([notification('n1')])
      await store.outbox.claimDue('node-a', T, lease, 10)
      await store.outbox.markFailed('n1', 'node-a', 'HTTP 500', T + 30)
      const failed = notification('n1', { attempts: 1, last_error: 'HTTP 500', next_attempt_at: T + 30 })
      assert.deepStrictEqual(await store.outbox.get('n1'), failed)
      assert.deepStrictEqual(await store.outbox.claimDue('node-b', T + 29, lease, 10), [])
      assert.deepStrictEqual(await store.outbox.claimDue('node-b', T + 30, lease, 10), [
        { ...failed, claimed_by: 'node-b', claim_expires_at: T + 30 + lease },
      ])
      await store.outbox.markFailed('n1', 'node-b', 'timeout', T + 90)
      assert.deepStrictEqual(await store.outbox.get('n1'), notification('n1', { attempts: 2, last_error: 'timeout', next_attempt_at: T + 90 }))
    })

    test('markGaveUp records the error and ends the notification', async (store) => {
      await store.outbox.enqueue([notification('n1')])
      await store.outbox.claimDue('node-a', T, lease, 10)
      await store.outbox.markGaveUp('n1', 'node-a', 'network error', T + 8)
      assert.deepStrictEqual(await store.outbox.get('n1'), notification('n1', { attempts: 1, last_error: 'network error', gave_up_at: T + 8 }))
      assert.deepStrictEqual(await store.outbox.claimDue('node-a', T + 10 * lease, lease, 10), [])
      assert.deepStrictEqual(await store.outbox.counts(), { pending: 0, delivered: 0, gave_up: 1 })
    })

    test('marks by a node that does not hold the claim change nothing', async (store) => {
      await store.outbox.enqueue([notification('n1'), notification('n2', { sid: 'other', next_attempt_at: T + 1 })])
      await store.outbox.claimDue('node-a', T, lease, 10)
      const taken = await store.outbox.claimDue('node-b', T + lease, lease, 1)
      assert.equal(taken[0]?.id, 'n1')
      const held = { ...notification('n1'), claimed_by: 'node-b', claim_expires_at: T + 2 * lease }
      await store.outbox.markDelivered('n1', 'node-a', T + lease + 1)
      await store.outbox.markFailed('n1', 'node-a', 'HTTP 500', T + 5 * lease)
      await store.outbox.markGaveUp('n1', 'node-a', 'HTTP 500', T + lease + 1)
      assert.deepStrictEqual(await store.outbox.get('n1'), held)
      await store.outbox.markDelivered('n2', 'node-a', T + lease + 1)
      assert.deepStrictEqual(await store.outbox.get('n2'), notification('n2', { sid: 'other', next_attempt_at: T + 1 }))
    })

    test('releaseClaims frees only that node\'s claims, at once', async (store) => {
      await store.outbox.enqueue([notification('a1', { sid: 's1' }), notification('a2', { sid: 's2' }), notification('b1', { sid: 's3', next_attempt_at: T + 1 })])
      await store.outbox.claimDue('node-a', T, lease, 10)
      await store.outbox.claimDue('node-b', T + 1, lease, 10)
      await store.outbox.releaseClaims('node-a')
      assert.deepStrictEqual(await store.outbox.get('a1'), notification('a1', { sid: 's1' }))
      assert.deepStrictEqual(await store.outbox.get('b1'), { ...notification('b1', { sid: 's3', next_attempt_at: T + 1 }), claimed_by: 'node-b', claim_expires_at: T + 1 + lease })
      const reclaimed = await store.outbox.claimDue('node-c', T + 2, lease, 10)
      assert.deepStrictEqual(reclaimed.map((n) => n.id).sort(), ['a1', 'a2'])
    })

    test('counts follow the lifecycle', async (store) => {
      await store.outbox.enqueue(['n1', 'n2', 'n3', 'n4'].map((id) => notification(id, { sid: id })))
      await store.outbox.claimDue('node-a', T, lease, 10)
      await store.outbox.markDelivered('n1', 'node-a', T)
      await store.outbox.markGaveUp('n2', 'node-a', 'HTTP 410', T)
      await store.outbox.markFailed('n3', 'node-a', 'HTTP 502', T + 1)
      assert.deepStrictEqual(await store.outbox.counts(), { pending: 2, delivered: 1, gave_up: 1 })
    })
  })
}
