/** The Registration Authority's unlock of a password locked by the hard limit on failures. */
import { PASSWORD_KIND, unlockPassword } from '@careid/authenticators'
import { parsePerson, type Person } from '@careid/domain'
import { auditEntry } from './audit_entry.ts'
import type { AdminDeps } from './deps.ts'
import { AdminRefusal } from './refusal.ts'

export function createPeopleAdmin({ store, now }: AdminDeps) {
  /** A person by 12-digit UID or by username. */
  async function find(who: string): Promise<Person> {
    const json = (await store.people.get(who)) ?? (await store.people.getByUsername(who))
    if (json === undefined) throw new AdminRefusal(`no person with UID or username ${who}`)
    return parsePerson(json)
  }

  return {
    list: async (): Promise<Person[]> => (await store.people.list()).map(parsePerson),
    find,

    /** Clears the password's failure count and lock, keeping the password. Returns the person. */
    async unlockPassword(who: string, actor: string): Promise<Person> {
      const person = await find(who)
      await store.transaction(async (tx) => {
        const password = async () => (await tx.credentials.listByPerson(person.uid)).find((c) => c.kind === PASSWORD_KIND)
        const before = await password()
        if (!(await unlockPassword(tx, person.uid))) throw new AdminRefusal(`${person.username} has no password to unlock`)
        await tx.audit.append(auditEntry({ at: now(), type: 'password.unlocked', actor, subject: person.uid, before, after: await password() }))
      })
      return person
    },
  }
}
