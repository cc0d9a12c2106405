/**
 * `careid sessions end <uid>`: an administrator ends every sign-in of a person (a compromised
 * account, a worker who left in a hurry). Each session ends as on logout, on every node: its
 * applications get a back-channel logout and every token issued in it stops working.
 */
import { createAdminSessions } from '@careid/oidc'
import { announce, type CareidContext } from '../context.ts'
import { UsageError } from './usage_error.ts'

/** Ends sessions through the shared store and tells the running nodes. */
export function adminSessions(ctx: CareidContext) {
  return createAdminSessions({ store: ctx.store, issuer: ctx.settings.issuer, now: Date.now, announce: (event) => announce(ctx, event) })
}

export async function endSessions(ctx: CareidContext, uid: string, out: (s: string) => void): Promise<void> {
  if (!/^[0-9]{12}$/.test(uid)) throw new UsageError('a UID is 12 digits')
  if ((await ctx.store.people.get(uid)) === undefined) throw new UsageError(`no person with UID ${uid}`)
  const ended = await adminSessions(ctx).endPerson(uid)
  await ctx.store.audit.append({ at: Date.now(), type: 'sessions.ended_by_admin', subject: uid, detail: { sessions_ended: ended } })
  out(ended === 0 ? `${uid} has no sign-in to end.` : `Ended ${ended} sign-in(s) of ${uid}; their applications are being told.`)
}
