/**
 * The conformance suite's part for `Store.audit`: the append-only audit log.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { AuditEvent } from '@careid/ports'
import { T, type StoreTest } from './fixtures.ts'

export function auditConformance(test: StoreTest): void {
  describe('audit', () => {
    test('recent returns events newest first, up to limit, exactly as appended', async (store) => {
      const events: AuditEvent[] = [
        { at: T, type: 'client.added', client_id: 'client-a' },
        { at: T + 1, type: 'session.started', subject: '555000000001', detail: { amr: ['SCA'], sid: 's1', nested: { n: 1, z: null } } },
        { at: T + 2, type: 'code.reused', client_id: 'client-a', detail: { grant_id: 'g' } },
        { at: T + 3, type: 'key.rotated' },
      ]
      for (const event of events) await store.audit.append(event)
      assert.deepStrictEqual(await store.audit.recent(10), [...events].reverse())
      assert.deepStrictEqual(await store.audit.recent(2), [events[3], events[2]])
    })

    test('recent of an empty log is empty', async (store) => {
      assert.deepStrictEqual(await store.audit.recent(5), [])
    })
  })
}
