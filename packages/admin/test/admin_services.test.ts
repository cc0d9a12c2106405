import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, beforeEach, afterEach, describe, it } from 'node:test'
import { PASSWORD_KIND } from '@careid/authenticators'
import { demoWorkforce } from '@careid/domain'
import { createKeyService, createSecretBox, sha256 } from '@careid/oidc'
import pg from 'pg'
import type { AuditEvent, CareidEvent, Json, SessionRecord, Store } from '@careid/ports'
import { guardStore } from '@careid/store'
import { openPostgresStore } from '@careid/store/postgres'
import { openSqliteStore } from '@careid/store/sqlite'
import { ensurePostgres } from '../../store/test/support/services.ts'
import { AdminRefusal, canonicalJson, createAdminServices, digestOf, type AdminServices } from '../src/index.ts'

const [ada] = demoWorkforce as [(typeof demoWorkforce)[number]]
const T = 1_700_000_000_000
const MINUTE = 60_000
const ACTOR = 'cli:ra.whitfield'
const dir = mkdtempSync(join(tmpdir(), 'careid-admin-'))
after(() => rmSync(dir, { recursive: true, force: true }))

class AuditLogDown extends Error {
  override name = 'AuditLogDown'
}

/**
 * `store` whose units of work fail on the audit entry: the change has been written through the
 * unit, and the failure comes between it and its audit entry.
 */
function failingAudit(store: Store): Store {
  return {
    ...store,
    transaction: (work) =>
      store.transaction((tx) =>
        work({
          ...tx,
          audit: {
            ...tx.audit,
            append: async () => {
              throw new AuditLogDown('the audit log cannot be written')
            },
          },
        }),
      ),
  }
}

function session(hash: string): SessionRecord {
  return {
    session_hash: hash,
    sid: `sid-${hash}`,
    sub: ada.uid,
    amr: ['PWD', 'OTP'],
    aal: 3,
    auth_time: T,
    created_at: T,
    last_seen_at: T,
    expires_at: T + 600 * MINUTE,
    idle_expires_at: T + 600 * MINUTE,
    clients: [],
  }
}

const lockedPassword = {
  id: 'password-ada',
  uid: ada.uid,
  kind: PASSWORD_KIND,
  secret: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
  state: { failures: 10, locked_at: T - MINUTE },
  version: 3,
  created_at: T - 60 * MINUTE,
}

/** An empty store of one backend, and how to dispose of it. */
interface Backend {
  name: string
  open(): Promise<{ store: Store; dispose(): Promise<void> }>
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const store = await openSqliteStore({ path: ':memory:' })
      return { store, dispose: () => store.close() }
    },
  },
]
const postgres = await ensurePostgres()
if (postgres.available) {
  backends.push({
    name: 'postgres',
    async open() {
      const schema = `careid_test_${randomBytes(6).toString('hex')}`
      const store = await openPostgresStore({ url: postgres.url, schema })
      return {
        store,
        async dispose() {
          await store.close()
          const admin = new pg.Client({ connectionString: postgres.url })
          await admin.connect()
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
          await admin.end()
        },
      }
    },
  })
} else {
  it('admin services on postgres', { skip: postgres.reason }, () => {})
}

interface Subject {
  store: Store
  dispose(): Promise<void>
  announced: CareidEvent[]
  admin: AdminServices
  /** The same services over a store whose audit entries fail inside the unit. */
  failing: AdminServices
}

async function open(backend: Backend): Promise<Subject> {
  const opened = await backend.open()
  const store = guardStore(opened.store)
  await store.people.put(ada.uid, ada.username, ada as unknown as Json)
  const secrets = createSecretBox(randomBytes(32))
  const now = () => T
  const keys = await createKeyService({ store: store.keys, secrets, now, publishLeadMs: 10 * MINUTE, retainAfterRetireMs: 120 * MINUTE })
  await keys.ensureActive()
  const announced: CareidEvent[] = []
  const deps = { secrets, keys, issuer: 'https://careid.example', now, announce: async (event: CareidEvent) => void announced.push(event) }
  return {
    store,
    dispose: opened.dispose,
    announced,
    admin: createAdminServices({ store, ...deps }),
    failing: createAdminServices({ store: failingAudit(store), ...deps }),
  }
}

/** A record as the store returns it: an optional field without a value is absent. */
function stored<R>(record: R): R {
  return JSON.parse(JSON.stringify(record)) as R
}

const metadata = {
  client_id: '000000000001.apps.national',
  client_name: 'Ward rounds',
  redirect_uris: ['https://ward.example/callback'],
  token_endpoint_auth_method: 'client_secret_basic',
}

describe('audit digests', () => {
  it('canonical JSON orders members by name at every depth and drops undefined members', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'x' }], c: undefined } }), '{"a":{"d":[2,{"y":"x","z":null}]},"b":1}')
  })

  it('the digest is sha256 of the canonical JSON, the same whatever the member order', () => {
    assert.equal(digestOf({ b: 1, a: 2 }), digestOf({ a: 2, b: 1 }))
    assert.equal(digestOf({ a: 2, b: 1 }), '02JqwwqH5vemQoIzs8aCmZdoZfpVCOQmfFQVx2r3p3I')
    assert.equal(digestOf(undefined), undefined)
  })
})

for (const backend of backends) describe(`admin services on ${backend.name}`, () => {
  let subject: Subject
  beforeEach(async () => {
    subject = await open(backend)
  })
  afterEach(async () => {
    await subject.dispose()
  })

  /** The audit log holds exactly `expected`, newest first. */
  async function auditIs(expected: AuditEvent[]): Promise<void> {
    assert.deepStrictEqual(await subject.store.audit.recent(50), expected)
  }

  describe('clients', () => {
    it('add registers the client with one audit entry: actor, action, subject and the digest of what was added', async () => {
      const { client, client_secret } = await subject.admin.clients.add(metadata, ACTOR)
      assert.equal(typeof client_secret, 'string')
      assert.deepStrictEqual(await subject.store.clients.get(metadata.client_id), stored(client))
      await auditIs([{ at: T, type: 'client.added', actor: ACTOR, subject: client.client_id, client_id: client.client_id, after_digest: digestOf(client)! }])
      assert.deepStrictEqual(subject.announced, [{ type: 'client.changed', client_id: client.client_id }])
    })

    it('add refuses a client_id already registered, changing nothing', async () => {
      await subject.admin.clients.add(metadata, ACTOR)
      const before = await subject.store.clients.list()
      await assert.rejects(subject.admin.clients.add({ ...metadata, client_name: 'Other' }, ACTOR), new AdminRefusal(`a client ${metadata.client_id} is already registered`))
      assert.deepStrictEqual(await subject.store.clients.list(), before)
      assert.equal((await subject.store.audit.recent(50)).length, 1)
    })

    it('add refuses invalid metadata with its reason, changing nothing', async () => {
      await assert.rejects(subject.admin.clients.add({ ...metadata, client_name: ' ' }, ACTOR), new AdminRefusal('client_name must not be empty'))
      assert.deepStrictEqual(await subject.store.clients.list(), [])
      await auditIs([])
    })

    it('add: a failure between the registration and its audit entry leaves neither, and tells no node', async () => {
      await assert.rejects(subject.failing.clients.add(metadata, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.clients.list(), [])
      await auditIs([])
      assert.deepStrictEqual(subject.announced, [])
    })

    it('remove deletes the client with one audit entry holding the digest of what was removed', async () => {
      const { client } = await subject.admin.clients.add(metadata, 'cli:someone.else')
      await subject.admin.clients.remove(client.client_id, ACTOR)
      assert.equal(await subject.store.clients.get(client.client_id), undefined)
      const [removed] = await subject.store.audit.recent(1)
      assert.deepStrictEqual(removed, { at: T, type: 'client.removed', actor: ACTOR, subject: client.client_id, client_id: client.client_id, before_digest: digestOf(client)! })
      assert.equal((await subject.store.audit.recent(50)).length, 2)
    })

    it('remove: a failure between the removal and its audit entry leaves the client registered', async () => {
      const { client } = await subject.admin.clients.add(metadata, ACTOR)
      await assert.rejects(subject.failing.clients.remove(client.client_id, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.clients.get(client.client_id), stored(client))
      assert.equal((await subject.store.audit.recent(50)).length, 1)
    })

    it('remove refuses an unknown client', async () => {
      await assert.rejects(subject.admin.clients.remove('000000000009.apps.national', ACTOR), new AdminRefusal('no client 000000000009.apps.national is registered'))
      await auditIs([])
    })
  })

  describe('apps', () => {
    const registration = {
      name: 'Ward rounds',
      callback_urls: ['https://ward.example/platform-callback'],
      scopes: ['urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service', 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'],
    }

    it('add registers the application with one audit entry: actor, action, API key and the digest of what was added, never the secret', async () => {
      const { application, secret } = await subject.admin.apps.add(registration, ACTOR)
      assert.equal(application.secret_hash, sha256(secret))
      assert.deepStrictEqual(await subject.store.apps.get(application.api_key), application)
      await auditIs([{ at: T, type: 'app.added', actor: ACTOR, subject: application.api_key, after_digest: digestOf(application)! }])
      assert.equal(JSON.stringify(await subject.store.audit.recent(50)).includes(secret), false)
      assert.deepStrictEqual(await subject.admin.apps.get(application.api_key), application)
      assert.deepStrictEqual(await subject.admin.apps.list(), [application])
    })

    it('add refuses an invalid registration with its reason, changing nothing', async () => {
      await assert.rejects(
        subject.admin.apps.add({ ...registration, callback_urls: ['http://ward.example/cb'] }, ACTOR),
        new AdminRefusal('callback URL must use https (http is allowed only on localhost): http://ward.example/cb'),
      )
      assert.deepStrictEqual(await subject.store.apps.list(), [])
      await auditIs([])
    })

    it('add: a failure between the application and its audit entry leaves neither', async () => {
      await assert.rejects(subject.failing.apps.add(registration, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.apps.list(), [])
      await auditIs([])
    })

    it('remove deletes the application with one audit entry holding the digest of what was removed', async () => {
      const { application } = await subject.admin.apps.add(registration, 'cli:someone.else')
      await subject.admin.apps.remove(application.api_key, ACTOR)
      assert.equal(await subject.store.apps.get(application.api_key), undefined)
      const [removed] = await subject.store.audit.recent(1)
      assert.deepStrictEqual(removed, { at: T, type: 'app.removed', actor: ACTOR, subject: application.api_key, before_digest: digestOf(application)! })
      assert.equal((await subject.store.audit.recent(50)).length, 2)
    })

    it('remove: a failure between the removal and its audit entry leaves the application registered', async () => {
      const { application } = await subject.admin.apps.add(registration, ACTOR)
      await assert.rejects(subject.failing.apps.remove(application.api_key, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.apps.get(application.api_key), application)
      assert.equal((await subject.store.audit.recent(50)).length, 1)
    })

    it('get and remove refuse an unknown API key, changing nothing', async () => {
      const unknown = 'Too5BdPayTQACdw1AJK1rD4nKUD0Ag7J'
      await assert.rejects(subject.admin.apps.get(unknown), new AdminRefusal(`no application with the API key ${unknown} is registered`))
      await assert.rejects(subject.admin.apps.remove(unknown, ACTOR), new AdminRefusal(`no application with the API key ${unknown} is registered`))
      await auditIs([])
    })
  })

  describe('keys', () => {
    it('rotate adds a next key with one audit entry naming it, with the digests of the key set before and after', async () => {
      const before = await subject.store.keys.list()
      const kid = await subject.admin.keys.rotate(ACTOR)
      const afterKeys = await subject.store.keys.list()
      assert.deepStrictEqual(afterKeys.map((k) => k.state).sort(), ['active', 'next'])
      assert.equal(afterKeys.find((k) => k.state === 'next')?.kid, kid)
      await auditIs([{ at: T, type: 'keys.rotated', actor: ACTOR, subject: kid, before_digest: digestOf(before)!, after_digest: digestOf(afterKeys)! }])
      assert.ok(subject.admin.keys.list().some((k) => k.kid === kid), 'the service publishes the new key at once')
      assert.deepStrictEqual(subject.announced, [{ type: 'keys.rotated' }])
    })

    it('rotate while a key is waiting keeps it and audits nothing more', async () => {
      const kid = await subject.admin.keys.rotate(ACTOR)
      assert.equal(await subject.admin.keys.rotate(ACTOR), kid)
      assert.equal((await subject.store.audit.recent(50)).length, 1)
    })

    it('rotate: a failure between the new key and its audit entry leaves no new key', async () => {
      const before = await subject.store.keys.list()
      await assert.rejects(subject.failing.keys.rotate(ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.keys.list(), before)
      await auditIs([])
      assert.deepStrictEqual(subject.announced, [])
    })
  })

  describe('cards', () => {
    it('issue writes the card and its file with one audit entry naming the card, never the passcode', async () => {
      const path = join(dir, `issue-${randomBytes(4).toString('hex')}.json`)
      const card = await subject.admin.cards.issueVirtual({ uid: ada.uid, passcode: '246810', path }, ACTOR)
      assert.ok(existsSync(path))
      assert.deepStrictEqual(await subject.store.cards.get(card.serial), card)
      await auditIs([{ at: T, type: 'card.issued', actor: ACTOR, subject: ada.uid, after_digest: digestOf(card)!, detail: { serial: card.serial, kind: 'virtual' } }])
      assert.doesNotMatch(JSON.stringify(await subject.store.audit.recent(50)), /246810/)
    })

    it('issue: a failure between the card and its audit entry leaves no card, no authority and no card file', async () => {
      const path = join(dir, `failed-${randomBytes(4).toString('hex')}.json`)
      await assert.rejects(subject.failing.cards.issueVirtual({ uid: ada.uid, passcode: '246810', path }, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.cards.list(), [])
      assert.equal(await subject.store.cards.getAuthority(), undefined)
      assert.equal(existsSync(path), false)
      await auditIs([])
    })

    it('issue: a card file that cannot be written leaves no card', async () => {
      const path = join(dir, 'no-such-dir', 'card.json')
      await assert.rejects(subject.admin.cards.issueVirtual({ uid: ada.uid, passcode: '246810', path }, ACTOR), (error: unknown) => error instanceof AdminRefusal && /no card was issued$/.test(error.message))
      assert.deepStrictEqual(await subject.store.cards.list(), [])
      await auditIs([])
    })

    async function lockedCard() {
      const card = await subject.admin.cards.issueVirtual({ uid: ada.uid, passcode: '246810', path: join(dir, `locked-${randomBytes(4).toString('hex')}.json`) }, ACTOR)
      assert.equal(await subject.store.cards.lock(card.serial, T), true)
      return (await subject.store.cards.get(card.serial))!
    }

    it('unlock clears the lock with one audit entry, with the digests of the card before and after', async () => {
      const locked = await lockedCard()
      assert.deepStrictEqual(await subject.admin.cards.unlock(locked.serial.toUpperCase(), ACTOR), locked)
      const unlocked = (await subject.store.cards.get(locked.serial))!
      assert.equal(unlocked.locked_at, undefined)
      assert.equal(unlocked.failed_attempts, 0)
      const [entry] = await subject.store.audit.recent(1)
      assert.deepStrictEqual(entry, { at: T, type: 'card.unlocked', actor: ACTOR, subject: ada.uid, before_digest: digestOf(locked)!, after_digest: digestOf(unlocked)!, detail: { serial: locked.serial } })
      assert.equal((await subject.store.audit.recent(50)).length, 2)
    })

    it('unlock: a failure between the unlock and its audit entry leaves the card locked', async () => {
      const locked = await lockedCard()
      await assert.rejects(subject.failing.cards.unlock(locked.serial, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.cards.get(locked.serial), locked)
      assert.equal((await subject.store.audit.recent(50)).length, 1)
    })

    it('unlock refuses an unknown card and a revoked one', async () => {
      await assert.rejects(subject.admin.cards.unlock('0abc', ACTOR), new AdminRefusal('no card 0abc'))
      const locked = await lockedCard()
      await subject.admin.cards.revoke(locked.serial, ACTOR)
      await assert.rejects(subject.admin.cards.unlock(locked.serial, ACTOR), new AdminRefusal(`card ${locked.serial} is revoked; issue a new card instead`))
    })

    it('revoke marks the card revoked with one audit entry; a second revoke changes and audits nothing', async () => {
      const card = await lockedCard()
      const first = await subject.admin.cards.revoke(card.serial, ACTOR)
      assert.deepStrictEqual(first, { card, revoked: true, sessionsEnded: 0 })
      const revoked = (await subject.store.cards.get(card.serial))!
      assert.equal(revoked.status, 'revoked')
      const [entry] = await subject.store.audit.recent(1)
      assert.deepStrictEqual(entry, { at: T, type: 'card.revoked', actor: ACTOR, subject: ada.uid, before_digest: digestOf(card)!, after_digest: digestOf(revoked)!, detail: { serial: card.serial } })
      assert.deepStrictEqual(await subject.admin.cards.revoke(card.serial, ACTOR), { card: revoked, revoked: false, sessionsEnded: 0 })
      assert.equal((await subject.store.audit.recent(50)).length, 2)
    })

    it('revoke: a failure between the revocation and its audit entry leaves the card active', async () => {
      const card = await lockedCard()
      await assert.rejects(subject.failing.cards.revoke(card.serial, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.cards.get(card.serial), card)
      assert.equal((await subject.store.audit.recent(50)).length, 1)
    })
  })

  describe('people', () => {
    it('unlock clears the password lock with one audit entry, with the digests of the credential before and after', async () => {
      await subject.store.credentials.put(lockedPassword)
      const person = await subject.admin.people.unlockPassword(ada.username, ACTOR)
      assert.equal(person.uid, ada.uid)
      const unlocked = (await subject.store.credentials.get(lockedPassword.id))!
      assert.deepStrictEqual(unlocked.state, {})
      assert.equal(unlocked.secret, lockedPassword.secret)
      await auditIs([{ at: T, type: 'password.unlocked', actor: ACTOR, subject: ada.uid, before_digest: digestOf(lockedPassword)!, after_digest: digestOf(unlocked)! }])
    })

    it('unlock: a failure between the unlock and its audit entry leaves the password locked', async () => {
      await subject.store.credentials.put(lockedPassword)
      await assert.rejects(subject.failing.people.unlockPassword(ada.uid, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.credentials.get(lockedPassword.id), lockedPassword)
      await auditIs([])
    })

    it('unlock refuses an unknown person and a person without a password', async () => {
      await assert.rejects(subject.admin.people.unlockPassword('no.such.person', ACTOR), new AdminRefusal('no person with UID or username no.such.person'))
      await assert.rejects(subject.admin.people.unlockPassword(ada.uid, ACTOR), new AdminRefusal(`${ada.username} has no password to unlock`))
      await auditIs([])
    })
  })

  describe('sessions', () => {
    it('end ends every session of the person, with one audit entry naming them by digest', async () => {
      for (const hash of ['s1', 's2']) await subject.store.sessions.create(session(hash))
      assert.equal(await subject.admin.sessions.endPerson(ada.uid, ACTOR), 2)
      assert.deepStrictEqual(await subject.store.sessions.listBySub(ada.uid), [])
      const entries = await subject.store.audit.recent(50)
      // One entry is the administrator's; each session's own end is recorded by Careid as on logout.
      assert.deepStrictEqual(
        entries.filter((entry) => entry.actor !== undefined),
        [{ at: T, type: 'sessions.ended_by_admin', actor: ACTOR, subject: ada.uid, before_digest: digestOf(['sid-s1', 'sid-s2'])!, after_digest: digestOf([])!, detail: { sessions_ended: 2 } }],
      )
      assert.deepStrictEqual(
        entries.filter((entry) => entry.actor === undefined).map((entry) => entry.type),
        ['session.ended', 'session.ended'],
      )
      assert.deepStrictEqual(subject.announced.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
        { type: 'session.ended', sid: 'sid-s1' },
        { type: 'session.ended', sid: 'sid-s2' },
      ])
    })

    it('end: when its audit entry cannot be written, no session ends', async () => {
      await subject.store.sessions.create(session('s1'))
      await assert.rejects(subject.failing.sessions.endPerson(ada.uid, ACTOR), AuditLogDown)
      assert.deepStrictEqual(await subject.store.sessions.listBySub(ada.uid), [session('s1')])
      await auditIs([])
      assert.deepStrictEqual(subject.announced, [])
    })

    it('end refuses a malformed UID and an unknown person', async () => {
      await assert.rejects(subject.admin.sessions.endPerson('12', ACTOR), new AdminRefusal('a UID is 12 digits'))
      await assert.rejects(subject.admin.sessions.endPerson('555000000999', ACTOR), new AdminRefusal('no person with UID 555000000999'))
      await auditIs([])
    })
  })
})
