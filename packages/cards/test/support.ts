/** A store with two people and a key-encryption key, as `careid cards` commands would open them. */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCardChallenges, createCardPasscodes } from '@careid/smartcard'
import { demoWorkforce } from '@careid/domain'
import { createSecretBox } from '@careid/oidc'
import type { AeadSecretBox } from '@careid/ports'
import type { Json, Store } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import type { CardAuthority, PasscodeCheck, PasscodeCheckResult } from '../src/index.ts'

export const [ada, ben] = demoWorkforce as [(typeof demoWorkforce)[number], (typeof demoWorkforce)[number]]

export interface Bench {
  dir: string
  dbPath: string
  store: Store
  secrets: AeadSecretBox
  /** Closes and reopens the store on the same file (a restart). */
  restart(): Promise<Store>
  cleanup(): Promise<void>
}

export async function bench(): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'careid-cards-'))
  const dbPath = join(dir, 'careid.db')
  const secrets = createSecretBox(randomBytes(32))
  const state = { store: await openSqliteStore({ path: dbPath }) }
  for (const person of [ada, ben]) await state.store.people.put(person.uid, person.username, person as unknown as Json)
  return {
    dir,
    dbPath,
    get store() {
      return state.store
    },
    secrets,
    async restart() {
      await state.store.close()
      state.store = await openSqliteStore({ path: dbPath })
      return state.store
    },
    async cleanup() {
      await state.store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * The provider's side of a virtual card's unlock, in process: a card challenge (counting nothing)
 * and the passcode check that counts, as `{issuer}/agent/challenge` and `/agent/passcode` run them.
 */
export function providerOf(store: Store, authority: CardAuthority, now: () => number = Date.now) {
  const cardChallenges = createCardChallenges(store)
  const passcodes = createCardPasscodes({ store, cardChallenges, unlock: async (card, challenge) => authority.passcodeCheck(card, challenge) })
  return {
    cardChallenges,
    passcodes,
    /** A challenge for `serial` and the call that checks an attempt over it (refusals other than wrong/locked throw). */
    async check(serial: string): Promise<PasscodeCheck> {
      const issued = await cardChallenges.issue(serial, now())
      if (!issued.ok) throw new Error(`no challenge: ${issued.error}`)
      return {
        challenge: issued.challenge,
        async prove(proofs): Promise<PasscodeCheckResult> {
          const checked = await passcodes.check({ serial, challenge: issued.challenge, ...proofs }, now())
          if (checked.ok) return { ok: true, share: checked.share }
          if (checked.error === 'wrong_passcode') return { ok: false, reason: 'wrong_passcode', attemptsLeft: checked.attempts_left }
          if (checked.error === 'card_locked') return { ok: false, reason: 'locked' }
          throw new Error(checked.error)
        },
      }
    },
  }
}
