/**
 * The Registration Authority's mobile app devices (`careid devices`): each change written with its
 * audit entry in one unit of work, nothing kept when the entry cannot be written, and revocation
 * ending the sign-ins the device made.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { demoWorkforce } from '@careid/domain'
import { createDevices } from '@careid/mobile'
import { createKeyService, createSecretBox } from '@careid/oidc'
import type { CareidEvent, Json, SessionRecord, Store } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import { AdminRefusal, createAdminServices, digestOf, type AdminServices } from '../src/index.ts'

const [ada, ben] = demoWorkforce as [(typeof demoWorkforce)[number], (typeof demoWorkforce)[number]]
const T = 1_700_000_000_000
const ACTOR = 'cli:ra.whitfield'

let store: Store
let admin: AdminServices
let failing: AdminServices

function session(hash: string, binding: string | undefined, sub = ada.uid): SessionRecord {
  return { session_hash: hash, sid: `sid-${hash}`, sub, amr: ['IOS'], aal: 3, auth_time: T, created_at: T, last_seen_at: T, expires_at: T + 3_600_000, idle_expires_at: T + 900_000, clients: [], ...(binding === undefined ? {} : { binding }) }
}

/** A device of `uid` that reached `confirming`, with the code it shows (as the app's registration leaves it). */
async function confirming(uid: string): Promise<{ id: string; code: string }> {
  const devices = createDevices(store.credentials)
  const registration = await admin.devices.register(uid, ACTOR)
  const invited = (await store.credentials.get(registration.device.id)) as NonNullable<Awaited<ReturnType<Store['credentials']['get']>>>
  const done = await devices.registered(invited, { key: { kty: 'EC', crv: 'P-256', x: 'x'.repeat(43), y: 'y'.repeat(43) }, webauthn: { id: 'cred', public_key: 'pk', counter: 0, transports: [] }, name: 'Ward 7 iPad', user_agent: 'test' }, T)
  assert.ok(done)
  return { id: registration.device.id, code: done.code }
}

beforeEach(async () => {
  store = await openSqliteStore({ path: ':memory:' })
  for (const person of [ada, ben]) await store.people.put(person.uid, person.username, person as unknown as Json)
  const secrets = createSecretBox(randomBytes(32))
  const now = () => T
  const keys = await createKeyService({ store: store.keys, secrets, now, publishLeadMs: 600_000, retainAfterRetireMs: 7_200_000 })
  const deps = { secrets, keys, issuer: 'https://careid.example', now, announce: async (_event: CareidEvent) => undefined }
  admin = createAdminServices({ store, ...deps })
  const failingStore: Store = {
    ...store,
    transaction: (work) =>
      store.transaction((tx) =>
        work({
          ...tx,
          audit: {
            ...tx.audit,
            append: async () => {
              throw new Error('the audit log cannot be written')
            },
          },
        }),
      ),
  }
  failing = createAdminServices({ store: failingStore, ...deps })
})
afterEach(() => store.close())

describe('careid devices', () => {
  it('register: a one-time link for the person (by UID or username), audited; nothing kept when the audit entry fails', async () => {
    const registration = await admin.devices.register(ada.username, ACTOR)
    assert.match(registration.link, /^https:\/\/careid\.example\/mobile\/#register=dev-[0-9a-f]{24}\.[A-Za-z0-9_-]{43}$/)
    assert.equal(registration.expires_at, T + 15 * 60_000)
    assert.equal(registration.device.status, 'invited')
    const [entry] = await store.audit.recent(1)
    assert.equal(entry?.type, 'device.registration_started')
    assert.equal(entry?.actor, ACTOR)
    assert.equal(entry?.subject, ada.uid)
    assert.ok(!JSON.stringify(entry).includes(registration.link.split('.').at(-1) as string), 'the link is not audited')
    await assert.rejects(failing.devices.register(ben.uid, ACTOR), /the audit log cannot be written/)
    assert.deepEqual(await createDevices(store.credentials).list(ben.uid), [])
    await assert.rejects(admin.devices.register('nobody', ACTOR), AdminRefusal)
  })

  it('confirm: the code the device shows activates it, audited with who registered it; a wrong code is counted and refused', async () => {
    const { id, code } = await confirming(ada.uid)
    await assert.rejects(admin.devices.confirm(ada.uid, code === '000000' ? '000001' : '000000', 'cli:ra.jones'), /not the code the device shows/)
    assert.equal((await store.audit.recent(1))[0]?.type, 'device.confirmation_failed')
    await assert.rejects(admin.devices.confirm(ada.uid, '12345', 'cli:ra.jones'), /6 digits/)
    const { device } = await admin.devices.confirm(ada.uid, code, 'cli:ra.jones')
    assert.equal(device.id, id)
    assert.equal(device.status, 'active')
    assert.equal(device.confirmed_by, 'cli:ra.jones')
    const [entry] = await store.audit.recent(1)
    assert.equal(entry?.type, 'device.confirmed')
    assert.deepEqual(entry?.detail, { device: id, registered_by: ACTOR })
    const { version: _version, ...facts } = device
    assert.equal(entry?.after_digest, digestOf(facts))
    await assert.rejects(admin.devices.confirm(ada.uid, code, 'cli:ra.jones'), /no device waiting for confirmation/)
  })

  it('list: one person, or everyone with a device', async () => {
    const { code } = await confirming(ada.uid)
    await admin.devices.confirm(ada.uid, code, ACTOR)
    const mine = await admin.devices.list(ada.username)
    assert.equal(mine.length, 1)
    assert.deepEqual(mine[0]?.devices.map((d) => d.status), ['active'])
    assert.deepEqual((await admin.devices.list()).map((e) => e.person.uid), [ada.uid])
    assert.deepEqual((await admin.devices.list(ben.uid))[0]?.devices, [])
  })

  it("revoke: audited, and the device's sign-ins end, no one else's; again changes nothing", async () => {
    const { id, code } = await confirming(ada.uid)
    await admin.devices.confirm(ada.uid, code, ACTOR)
    await store.sessions.create(session('made-by-device', `mobile:${id}`))
    await store.sessions.create(session('by-password', undefined))
    await store.sessions.create(session('another-device', 'mobile:dev-000000000000000000000000'))
    const revoked = await admin.devices.revoke(id, ACTOR)
    assert.equal(revoked.sessionsEnded, 1)
    assert.equal(revoked.device.status, 'revoked')
    assert.equal(await store.sessions.get('made-by-device'), undefined)
    assert.ok(await store.sessions.get('by-password'))
    assert.ok(await store.sessions.get('another-device'))
    const entry = (await store.audit.recent(5)).find((e) => e.type === 'device.revoked')
    assert.equal(entry?.subject, ada.uid)
    assert.equal(entry?.actor, ACTOR)
    const again = await admin.devices.revoke(id, ACTOR)
    assert.equal(again.sessionsEnded, 0)
    assert.equal((await store.audit.recent(5)).filter((e) => e.type === 'device.revoked').length, 1)
    await assert.rejects(admin.devices.revoke('dev-ffffffffffffffffffffffff', ACTOR), /no device/)
  })

  it('revoke: nothing changes when the audit entry cannot be written', async () => {
    const { id, code } = await confirming(ada.uid)
    await admin.devices.confirm(ada.uid, code, ACTOR)
    await store.sessions.create(session('made-by-device', `mobile:${id}`))
    await assert.rejects(failing.devices.revoke(id, ACTOR), /the audit log cannot be written/)
    assert.equal((await createDevices(store.credentials).get(id))?.status, 'active')
    assert.ok(await store.sessions.get('made-by-device'))
  })
})
