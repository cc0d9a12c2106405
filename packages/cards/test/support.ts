/** A store with two people and a key-encryption key, as `careid cards` commands would open them. */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { demoWorkforce } from '@careid/domain'
import { createSecretBox, type AeadSecretBox } from '@careid/oidc'
import { openSqliteStore, type Json, type Store } from '@careid/store'

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
