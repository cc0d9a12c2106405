/**
 * `careid people unlock` as a Registration Authority runs it, on a data directory: a password
 * locked by the hard limit of 100 consecutive failures shows as locked in `people show` and is
 * usable again after the unlock, with the same password; mistakes are refused with exit code 2.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { PASSWORD_KIND, enrolPassword } from '@careid/authenticators'
import { demoWorkforce } from '@careid/domain'
import type { Json, Store } from '@careid/ports'
import { adminWorkspace, ok, refused, withStore } from '../support/cli.ts'

const [ada, ben] = demoWorkforce as [(typeof demoWorkforce)[number], (typeof demoWorkforce)[number]]
const { dataDir, careid } = adminWorkspace('careid-people-cli-')
const lockedAt = Date.UTC(2026, 0, 5, 8, 30, 0)

async function passwordState(store: Store, uid: string) {
  return (await store.credentials.listByPerson(uid)).find((c) => c.kind === PASSWORD_KIND)?.state
}

describe('careid people unlock', { concurrency: 1 }, () => {
  before(async () => {
    // The workforce `careid start` would have seeded; Ada's password reached the hard limit.
    await withStore(dataDir, async (store) => {
      await store.people.put(ada.uid, ada.username, ada as unknown as Json)
      await store.people.put(ben.uid, ben.username, ben as unknown as Json)
      const credential = await enrolPassword(store, ada.uid, 'a passphrase of her own', lockedAt - 60_000)
      assert.equal(await store.credentials.updateState(credential.id, credential.version, { locked_at: lockedAt }), true)
    })
  })

  it('people show says the password is locked, and since when', async () => {
    const out = ok(await careid('people', 'show', ada.username))
    assert.match(out, /^  password:  locked since 2026-01-05T08:30:00\.000Z after 100 failed attempts in a row \(careid people unlock\)$/m)
  })

  it('unlock clears the lock and the count, keeping the password', async () => {
    const before = await withStore(dataDir, async (store) => (await store.credentials.listByPerson(ada.uid)).find((c) => c.kind === PASSWORD_KIND))
    assert.equal(ok(await careid('people', 'unlock', ada.username)), `Password of ${ada.username} unlocked; failed attempts start again from 0.\n`)
    await withStore(dataDir, async (store) => {
      assert.deepEqual(await passwordState(store, ada.uid), {})
      const after = (await store.credentials.listByPerson(ada.uid)).find((c) => c.kind === PASSWORD_KIND)
      assert.equal(after?.secret, before?.secret, 'the same password')
      const [event] = await store.audit.recent(1)
      assert.equal(event?.type, 'password.unlocked')
      assert.equal(event?.subject, ada.uid)
    })
    assert.doesNotMatch(ok(await careid('people', 'show', ada.uid)), /^  password:/m)
  })

  it('refuses an unknown person and a person without a password, changing nothing', async () => {
    refused(await careid('people', 'unlock', 'no.such.person'), /no person with UID or username no\.such\.person/)
    refused(await careid('people', 'unlock', ben.username), new RegExp(`${ben.username.replaceAll('.', '\\.')} has no password`))
    await withStore(dataDir, async (store) => assert.equal(await passwordState(store, ben.uid), undefined))
  })
})
