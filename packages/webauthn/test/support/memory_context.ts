/**
 * The store parts the WebAuthn plugin uses, in memory, with the contracts' semantics: records are
 * copies, `updateState` is compare-and-set on `version`, `markUsed` is true once per key until it
 * expires, and the audit log keeps every entry for the test to read.
 */
import type { AuditEvent, CredentialRecord, EnrolmentContext, WebAuthnContext } from '@careid/ports'

export interface MemoryContext extends WebAuthnContext {
  rows: Map<string, CredentialRecord>
  audited: AuditEvent[]
}

export function memoryContext(): MemoryContext {
  const rows = new Map<string, CredentialRecord>()
  const marks = new Map<string, number>()
  const audited: AuditEvent[] = []
  return {
    rows,
    audited,
    credentials: {
      listByPerson: async (uid) => [...rows.values()].filter((r) => r.uid === uid).map((r) => structuredClone(r)),
      get: async (id) => (rows.has(id) ? structuredClone(rows.get(id)) : undefined),
      put: async (record) => void rows.set(record.id, structuredClone(record)),
      async updateState(id, expectedVersion, state) {
        const row = rows.get(id)
        if (row === undefined || row.version !== expectedVersion) return false
        rows.set(id, { ...row, state: structuredClone(state), version: row.version + 1 })
        return true
      },
      remove: async (id) => rows.delete(id),
    },
    replay: {
      async markUsed(key, expiresAt, now) {
        const until = marks.get(key)
        if (until !== undefined && until > now) return false
        marks.set(key, expiresAt)
        return true
      },
    },
    audit: { append: async (event) => void audited.push(event) },
  }
}

/** An enrolment step's context for `uid`, granted up to `maxAal`. */
export function enrolmentContext(uid: string, maxAal: 1 | 2 | 3, now: number): EnrolmentContext {
  return { now, grant: { uid, maxAal, via: 'session' }, username: `${uid}.user`, display_name: 'Test Person' }
}
