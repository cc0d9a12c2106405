/**
 * An administrator ends every sign-in of a person (a compromised account, a worker who left in a
 * hurry). Each session ends as on logout, on every node: its applications get a back-channel logout
 * and every token issued in it stops working.
 */
import { createAdminSessions } from '@careid/oidc'
import { auditEntry } from './audit_entry.ts'
import type { AdminDeps } from './deps.ts'
import { AdminRefusal } from './refusal.ts'

export function createSessionAdmin(deps: AdminDeps) {
  const { store, now } = deps
  return {
    /**
     * Ends every session of the person `uid`; returns how many ended.
     *
     * The order: the decision and its audit entry first, in one unit of work, naming the sessions
     * to end (their sids, as a digest); then each session ends, outside the unit, since sessions
     * may live in Redis, which takes no part in it. Each end is atomic on its own (logout
     * notifications queued, grants revoked, then the session deleted, then every node told) and
     * safe to repeat: if the command stops halfway, running it again ends what is left.
     */
    async endPerson(uid: string, actor: string): Promise<number> {
      if (!/^[0-9]{12}$/.test(uid)) throw new AdminRefusal('a UID is 12 digits')
      if ((await store.people.get(uid)) === undefined) throw new AdminRefusal(`no person with UID ${uid}`)
      const sids = (await store.sessions.listBySub(uid)).map((session) => session.sid)
      await store.transaction((tx) =>
        tx.audit.append(auditEntry({ at: now(), type: 'sessions.ended_by_admin', actor, subject: uid, before: sids, after: [], detail: { sessions_ended: sids.length } })),
      )
      return createAdminSessions({ store, issuer: deps.issuer, now, announce: deps.announce }).endPerson(uid)
    },
  }
}
