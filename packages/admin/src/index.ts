/**
 * The administrators' changes (clients, API Platform applications, signing keys, smartcards,
 * password locks, sessions), used by the `careid` command now and by web tools later. Each change
 * and its audit entry (actor, action, subject, digests of the record before and after) are written
 * in one unit of work of the store; effects outside it (telling other nodes, ending sessions in Redis) follow the commit and
 * are safe to repeat.
 */
import { createAppAdmin } from './apps.ts'
import { createCardAdmin } from './cards.ts'
import { createClientAdmin } from './clients.ts'
import type { AdminDeps } from './deps.ts'
import { createKeyAdmin } from './keys.ts'
import { createPeopleAdmin } from './people.ts'
import { createSessionAdmin } from './sessions.ts'

export { auditEntry, canonicalJson, digestOf, type Change } from './audit_entry.ts'
export type { IssueTokenCard, IssueVirtualCard, RevokedCard } from './cards.ts'
export type { RegisteredClient } from './clients.ts'
export type { AdminDeps } from './deps.ts'
export type { EnrolmentCode } from './people.ts'
export { AdminRefusal } from './refusal.ts'

export function createAdminServices(deps: AdminDeps) {
  return {
    clients: createClientAdmin(deps),
    apps: createAppAdmin(deps),
    keys: createKeyAdmin(deps),
    cards: createCardAdmin(deps),
    people: createPeopleAdmin(deps),
    sessions: createSessionAdmin(deps),
  }
}

export type AdminServices = ReturnType<typeof createAdminServices>
