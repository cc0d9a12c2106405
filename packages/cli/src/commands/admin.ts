/** The admin services over a command's context, acting as the operating-system user who ran it. */
import { userInfo } from 'node:os'
import { AdminRefusal, createAdminServices, type AdminServices } from '@careid/admin'
import { announce, type CareidContext } from '../context.ts'
import { UsageError } from './usage_error.ts'

export function adminServices(ctx: CareidContext): AdminServices {
  return createAdminServices({
    store: ctx.store,
    secrets: ctx.secrets,
    keys: ctx.keys,
    issuer: ctx.settings.issuer,
    announce: (event) => announce(ctx, event),
    now: Date.now,
  })
}

/** Who the audit log names for a command's change: `cli:` and the operating-system user running it. */
export function cliActor(): string {
  let user: string
  try {
    user = userInfo().username
  } catch {
    // A user id with no passwd entry (a container started with an arbitrary uid).
    user = `uid-${process.getuid?.() ?? 'unknown'}`
  }
  return `cli:${user}`
}

/** A refusal is the administrator's to put right: the command exits 2 with its message, as for a usage mistake. */
export async function refusalsAsUsage<T>(work: Promise<T>): Promise<T> {
  try {
    return await work
  } catch (error) {
    if (error instanceof AdminRefusal) throw new UsageError(error.message)
    throw error
  }
}
