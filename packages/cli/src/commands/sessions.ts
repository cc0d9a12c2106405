/**
 * `careid sessions end <uid>`: an administrator ends every sign-in of a person (a compromised
 * account, a worker who left in a hurry). Each session ends as on logout, on every node: its
 * applications get a back-channel logout and every token issued in it stops working.
 */
import type { CareidContext } from '../context.ts'
import { adminServices, cliActor, refusalsAsUsage } from './admin.ts'

export async function endSessions(ctx: CareidContext, uid: string, out: (s: string) => void): Promise<void> {
  const ended = await refusalsAsUsage(adminServices(ctx).sessions.endPerson(uid, cliActor()))
  out(ended === 0 ? `${uid} has no sign-in to end.` : `Ended ${ended} sign-in(s) of ${uid}; their applications are being told.`)
}
