/**
 * An in-memory stand-in for the three parts of the store the authenticators use (`people`,
 * `credentials` and the `rates` counters), keeping the contract's semantics: records are copies,
 * `updateState` is compare-and-set on `version`, counters count in fixed windows, and every call
 * yields to the event loop first, as real I/O would, so concurrent attempts in a test genuinely
 * interleave.
 */
import { rateWindowEnd, type CredentialRecord, type CredentialStore, type Json, type PersonStore, type RateCounter, type Store } from '@careid/ports'
import type { SecretBox } from '@careid/ports'

/** The fake store and direct handles on its working parts, for arranging and inspecting. */
export interface FakeStore {
  /** Typed as the whole store for the enrolment helpers; only `people`, `credentials` and `rates` work. */
  store: Store
  credentials: CredentialStore
  people: PersonStore
  rates: RateCounter
}

const io = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A fresh, empty fake store. */
export function fakeStore(): FakeStore {
  const credentialRows = new Map<string, CredentialRecord>()
  const peopleRows = new Map<string, { username: string; person: Json }>()

  const credentials: CredentialStore = {
    async listByPerson(uid) {
      await io()
      return [...credentialRows.values()].filter((c) => c.uid === uid).map((c) => structuredClone(c))
    },
    async get(id) {
      await io()
      const row = credentialRows.get(id)
      return row === undefined ? undefined : structuredClone(row)
    },
    async put(credential) {
      await io()
      credentialRows.set(credential.id, structuredClone(credential))
    },
    async updateState(id, expectedVersion, state) {
      await io()
      const row = credentialRows.get(id)
      if (row === undefined || row.version !== expectedVersion) return false
      credentialRows.set(id, { ...row, state: structuredClone(state), version: row.version + 1 })
      return true
    },
    async remove(id) {
      await io()
      return credentialRows.delete(id)
    },
  }

  const people: PersonStore = {
    async get(uid) {
      await io()
      const row = peopleRows.get(uid)
      return row === undefined ? undefined : structuredClone(row.person)
    },
    async getByUsername(username) {
      await io()
      const row = [...peopleRows.values()].find((r) => r.username === username)
      return row === undefined ? undefined : structuredClone(row.person)
    },
    async list() {
      await io()
      return [...peopleRows.values()].map((r) => structuredClone(r.person))
    },
    async put(uid, username, person) {
      await io()
      for (const [otherUid, row] of peopleRows) {
        if (otherUid !== uid && row.username === username) throw new Error('username already taken')
      }
      peopleRows.set(uid, { username, person: structuredClone(person) })
    },
  }

  const counters = new Map<string, number>()
  const rates: RateCounter = {
    async hit(key, windowMs, now) {
      await io()
      const slot = `${rateWindowEnd(windowMs, now)}:${key}`
      const hits = (counters.get(slot) ?? 0) + 1
      counters.set(slot, hits)
      return hits
    },
    async peek(key, windowMs, now) {
      await io()
      return counters.get(`${rateWindowEnd(windowMs, now)}:${key}`) ?? 0
    },
    async removeExpired(now) {
      await io()
      let removed = 0
      for (const slot of counters.keys()) {
        if (Number(slot.slice(0, slot.indexOf(':'))) <= now) removed += Number(counters.delete(slot))
      }
      return removed
    },
  }

  const unsupported = (): never => {
    throw new Error('not part of the fake store')
  }
  const store = new Proxy({ credentials, people, rates } as unknown as Store, {
    get: (target, key) => (key in target ? target[key as keyof Store] : unsupported()),
  })
  return { store, credentials, people, rates }
}

/** A reversible SecretBox that visibly changes its input, so a test can see a secret was sealed. */
export const testSecretBox: SecretBox = {
  seal: (plaintext) => `sealed:${Buffer.from(plaintext, 'utf8').toString('base64url')}`,
  open: (sealed) => {
    if (!sealed.startsWith('sealed:')) throw new Error('not sealed')
    return Buffer.from(sealed.slice('sealed:'.length), 'base64url').toString('utf8')
  },
}

/** Adds a person with just the fields the authenticators read. */
export async function addPerson(people: PersonStore, uid: string, username: string): Promise<void> {
  await people.put(uid, username, { uid, username, display_name: `Test ${username}` })
}
