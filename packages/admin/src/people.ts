/**
 * The Registration Authority's work on people: unlocking a password locked by the hard limit on
 * failures, and issuing one-time enrolment codes.
 */
import { PASSWORD_KIND, unlockPassword } from '@careid/authenticators'
import { ENROLMENT_CODE_KIND, enrolmentCodeRecord, enrolmentCodeTtlMs } from '@careid/oidc'
import { parsePerson, type Person } from '@careid/domain'
import { auditEntry } from './audit_entry.ts'
import type { AdminDeps } from './deps.ts'
import { AdminRefusal } from './refusal.ts'

/** An enrolment code as issued: shown once to the RA, to hand to the worker. */
export interface EnrolmentCode {
  person: Person
  method: string
  code: string
  expires_at: number
  /** Where the worker uses it. */
  url: string
}

export function createPeopleAdmin({ store, now, issuer }: AdminDeps) {
  /** A person by 12-digit UID or by username. */
  async function find(who: string): Promise<Person> {
    const json = (await store.people.get(who)) ?? (await store.people.getByUsername(who))
    if (json === undefined) throw new AdminRefusal(`no person with UID or username ${who}`)
    return parsePerson(json)
  }

  return {
    list: async (): Promise<Person[]> => (await store.people.list()).map(parsePerson),
    find,

    /**
     * A one-time enrolment code for the person to register `method` themselves at
     * `{issuer}/account/enrol` (cis2.md 4: authenticators "issued by an RA" to a worker who holds
     * none). Only for a method with an enroller (`methods`); it replaces any unused code the person
     * had, and lasts `ttlMs` (72 hours by default, never longer). Stored only hashed.
     */
    async issueEnrolmentCode(who: string, method: string, options: { methods: readonly string[]; ttlMs?: number | undefined }, actor: string): Promise<EnrolmentCode> {
      if (!options.methods.includes(method)) {
        throw new AdminRefusal(`no enrolment is offered for the method ${method}; codes can be issued for: ${options.methods.length === 0 ? '(none)' : options.methods.join(', ')}`)
      }
      const ttlMs = options.ttlMs ?? enrolmentCodeTtlMs
      if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > enrolmentCodeTtlMs) throw new AdminRefusal(`an enrolment code lasts from 1 minute to ${enrolmentCodeTtlMs / 3_600_000} hours`)
      const person = await find(who)
      const issued = enrolmentCodeRecord(person.uid, method, now(), ttlMs, actor)
      await store.transaction(async (tx) => {
        // One code at a time: a new one replaces any the person has not used.
        for (const old of await tx.credentials.listByPerson(person.uid)) {
          if (old.kind !== ENROLMENT_CODE_KIND) continue
          await tx.credentials.remove(old.id)
          await tx.audit.append(auditEntry({ at: now(), type: 'enrolment_code.replaced', actor, subject: person.uid, before: old, after: undefined }))
        }
        await tx.credentials.put(issued.record)
        await tx.audit.append(auditEntry({ at: now(), type: 'enrolment_code.issued', actor, subject: person.uid, before: undefined, after: issued.record, detail: { method, expires_at: issued.expires_at } }))
      })
      return { person, method, code: issued.code, expires_at: issued.expires_at, url: `${issuer}/account/enrol` }
    },

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
