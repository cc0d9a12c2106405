/**
 * `careid people list|show|unlock|enrol`: the workforce, with what a tester needs to sign in as them,
 * the Registration Authority's unlock of a password locked by the hard limit, and its one-time
 * enrolment codes.
 */
import { DEFAULT_PASSWORD_THROTTLE, PASSWORD_KIND, currentTotpCode } from '@careid/authenticators'
import { createDirectory, roleOptions } from '@careid/domain'
import type { CareidContext } from '../context.ts'
import { composeProvider } from '../start.ts'
import { adminServices, cliActor, refusalsAsUsage } from './admin.ts'
import { UsageError } from './usage_error.ts'

export async function listPeople(ctx: CareidContext, out: (s: string) => void): Promise<void> {
  const people = await adminServices(ctx).people.list()
  if (people.length === 0) return out('No people yet: `careid start` adds the demo workforce on its first run.')
  for (const p of people) out(`${p.uid}  ${p.username.padEnd(22)} ${String(p.positions.length).padStart(2)} role(s)  ${p.display_name}`)
}

export async function showPerson(ctx: CareidContext, who: string, out: (s: string) => void): Promise<void> {
  const person = await refusalsAsUsage(adminServices(ctx).people.find(who))
  out(`${person.display_name} (${person.title} ${person.given_name} ${person.family_name})`)
  out(`  uid:       ${person.uid}`)
  out(`  username:  ${person.username}`)
  out(`  email:     ${person.email}`)
  out(`  identity assurance level: ${person.id_assurance_level}`)
  const roles = roleOptions(person, createDirectory())
  out(`  roles (${roles.length}):`)
  for (const r of roles) out(`    ${r.person_roleid}  ${r.job_role} at ${r.org_name} (${r.org_code})`)
  const credentials = await ctx.store.credentials.listByPerson(person.uid)
  const lockedAt = credentials.find((c) => c.kind === PASSWORD_KIND)?.state['locked_at']
  if (typeof lockedAt === 'number') {
    out(`  password:  locked since ${new Date(lockedAt).toISOString()} after ${DEFAULT_PASSWORD_THROTTLE.hardLimit} failed attempts in a row (careid people unlock)`)
  }
  const totp = credentials.find((c) => c.kind === 'totp')
  if (totp !== undefined) {
    const secret = ctx.secrets.open(totp.secret)
    out(`  authenticator app secret: ${secret}`)
    out(`  current code:             ${currentTotpCode(secret, Date.now())} (changes every 30 seconds)`)
  }
}

/** Clears a password's failure count and lock, keeping the password (Registration Authority). */
export async function unlockPerson(ctx: CareidContext, who: string, out: (s: string) => void): Promise<void> {
  const person = await refusalsAsUsage(adminServices(ctx).people.unlockPassword(who, cliActor()))
  out(`Password of ${person.username} unlocked; failed attempts start again from 0.`)
}

export interface EnrolFlags {
  method: string
  /** Hours the code lasts (at most 72). */
  hours?: string | undefined
}

/**
 * A one-time enrolment code for a worker to register `--method` themselves (Registration
 * Authority): printed once, with its expiry and where to use it. Codes exist only for methods with
 * an enroller in this deployment's composition.
 */
export async function enrolPerson(ctx: CareidContext, who: string, flags: EnrolFlags, out: (s: string) => void): Promise<void> {
  let ttlMs: number | undefined
  if (flags.hours !== undefined) {
    const hours = Number(flags.hours)
    if (!/^\d+(\.\d+)?$/.test(flags.hours) || hours <= 0 || hours > 72) throw new UsageError(`--hours must be a number of hours above 0 and at most 72: ${flags.hours}`)
    ttlMs = Math.round(hours * 3_600_000)
  }
  const { provider } = composeProvider(ctx.settings, ctx, { now: Date.now })
  const issued = await refusalsAsUsage(adminServices(ctx).people.issueEnrolmentCode(who, flags.method, { methods: provider.enrolmentMethods(), ttlMs }, cliActor()))
  out(`Enrolment code for ${issued.person.username} (${issued.person.display_name}) to set up: ${issued.method}`)
  out('')
  out(`  ${issued.code}`)
  out('')
  out(`It works once, until ${new Date(issued.expires_at).toISOString()}. Give it to ${issued.person.username} in person.`)
  out(`They enter their username and this code at ${issued.url}`)
}
