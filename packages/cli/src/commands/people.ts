/** `careid people list|show`: the workforce, with what a tester needs to sign in as them. */
import { currentTotpCode } from '@careid/authenticators'
import { createDirectory, parsePerson, roleOptions, type Person } from '@careid/domain'
import type { CareidContext } from '../context.ts'
import { UsageError } from './usage_error.ts'

export async function listPeople(ctx: CareidContext, out: (s: string) => void): Promise<void> {
  const people = (await ctx.store.people.list()).map(parsePerson)
  if (people.length === 0) return out('No people yet: `careid start` adds the demo workforce on its first run.')
  for (const p of people) out(`${p.uid}  ${p.username.padEnd(22)} ${String(p.positions.length).padStart(2)} role(s)  ${p.display_name}`)
}

export async function showPerson(ctx: CareidContext, who: string, out: (s: string) => void): Promise<void> {
  const json = (await ctx.store.people.get(who)) ?? (await ctx.store.people.getByUsername(who))
  if (json === undefined) throw new UsageError(`no person with UID or username ${who}`)
  const person: Person = parsePerson(json)
  out(`${person.display_name} (${person.title} ${person.given_name} ${person.family_name})`)
  out(`  uid:       ${person.uid}`)
  out(`  username:  ${person.username}`)
  out(`  email:     ${person.email}`)
  out(`  identity assurance level: ${person.id_assurance_level}`)
  const roles = roleOptions(person, createDirectory())
  out(`  roles (${roles.length}):`)
  for (const r of roles) out(`    ${r.person_roleid}  ${r.job_role} at ${r.org_name} (${r.org_code})`)
  const totp = (await ctx.store.credentials.listByPerson(person.uid)).find((c) => c.kind === 'totp')
  if (totp !== undefined) {
    const secret = ctx.secrets.open(totp.secret)
    out(`  authenticator app secret: ${secret}`)
    out(`  current code:             ${currentTotpCode(secret, Date.now())} (changes every 30 seconds)`)
  }
}
