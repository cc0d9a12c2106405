/**
 * The audit entry of an administrator's change: who, what, to which record, and digests of the
 * record before and after.
 *
 * A digest, not a copy: the log must prove what changed (whoever holds the record, or a backup of
 * it, recomputes the digest and matches it) without itself holding what the record holds: secret
 * hashes, sealed keys, certificates, names and email addresses. An audit log is kept longer and
 * read more widely than the records it describes, so it must not become their second copy.
 */
import { createHash } from 'node:crypto'
import type { AuditEvent } from '@careid/ports'

/**
 * JSON with every object's members in code-point order of their names and no whitespace (RFC 8785's
 * ordering), so one record always gives one text. Members holding `undefined` are left out, as
 * JSON.stringify leaves them out.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, member]) => `${JSON.stringify(name)}:${canonicalJson(member)}`)
    return `{${members.join(',')}}`
  }
  return JSON.stringify(value)
}

/** sha256 (base64url) of the record's canonical JSON; undefined when there is no record. */
export function digestOf(record: unknown): string | undefined {
  if (record === undefined) return undefined
  return createHash('sha256').update(canonicalJson(record)).digest('base64url')
}

export interface Change {
  at: number
  /** The action, e.g. `client.added`. */
  type: string
  actor: string
  subject: string
  client_id?: string
  /** The record before the change (undefined: it did not exist). */
  before: unknown
  /** The record after the change (undefined: it no longer exists). */
  after: unknown
  /** Names that identify what changed (a card serial); never a secret or personal data. */
  detail?: AuditEvent['detail']
}

/** The audit entry recording `change`; fields without a value are left out, as the store returns them. */
export function auditEntry(change: Change): AuditEvent {
  const before = digestOf(change.before)
  const after = digestOf(change.after)
  return {
    at: change.at,
    type: change.type,
    actor: change.actor,
    subject: change.subject,
    ...(change.client_id === undefined ? {} : { client_id: change.client_id }),
    ...(before === undefined ? {} : { before_digest: before }),
    ...(after === undefined ? {} : { after_digest: after }),
    ...(change.detail === undefined ? {} : { detail: change.detail }),
  }
}
