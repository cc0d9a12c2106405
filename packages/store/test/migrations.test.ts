/**
 * Upgrades: a database left by any earlier Careid (every schema version from empty up), holding the
 * data that version wrote, opens at the latest version with all of that data readable through the
 * contract, on both SQL backends.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import type { ApiGrantRecord, ApiTokenRecord, ApplicationRecord, CardRecord, ClientRecord, CredentialRecord, GrantRecord, LogoutNotification, PatientRecord, RefreshTokenRecord, SessionRecord, SigningKeyRecord, Store } from '@careid/ports'
import { latestPostgresSchemaVersion, postgresMigrations } from '../src/postgres/migrations.ts'
import { openPostgresStore } from '../src/postgres/postgres_store.ts'
import { latestSchemaVersion, sqliteMigrations } from '../src/sqlite/migrations.ts'
import { openSqliteStore } from '../src/sqlite/sqlite_store.ts'
import { insertPostgres, insertSqlite, migratePostgresTo, migrateSqliteTo, type Row } from './support/migrate_to.ts'
import { rateWindowEnd } from '@careid/ports'
import { ensurePostgres } from './support/services.ts'

const T = 1_700_000_000_000
const MINUTE = 60_000

const client: ClientRecord = {
  client_id: '000000000001.apps.national',
  client_name: 'Ward rounds',
  redirect_uris: ['https://ward.example/callback'],
  post_logout_redirect_uris: ['https://ward.example/bye'],
  backchannel_logout_uri: 'https://ward.example/backchannel',
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret_hash: 'c2VjcmV0LWhhc2g',
  refresh_tokens: true,
  created_at: T,
}
const signingKey: SigningKeyRecord = {
  kid: 'k1',
  alg: 'ES256',
  public_jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1', alg: 'ES256', use: 'sig' },
  private_jwk_encrypted: 'envelope',
  state: 'active',
  created_at: T,
  activate_at: T,
}
const patient: PatientRecord = {
  nhs_number: '9000000009',
  version: 3,
  resource: { resourceType: 'Patient', id: '9000000009', meta: { versionId: '3' }, name: [{ use: 'usual', family: 'Smith', given: ['Jane'] }], birthDate: '1990-06-01' },
  family: 'SMITH',
  given: 'JANE',
  family_phonetic: 'S530',
  birth_date: '1990-06-01',
  gender: 'female',
  postcode: 'LS14AP',
  restricted: false,
  status: 'active',
}
const person = { uid: '555000000001', name: 'Dr Ada Nurse', roles: [{ person_roleid: '555000000001-1' }] }
const credential: CredentialRecord = { id: 'cred-1', uid: '555000000001', kind: 'password', secret: '$argon2id$x', state: { failures: 1 }, version: 2, created_at: T }
const grant: GrantRecord = { grant_id: 'g1', client_id: client.client_id, sub: '555000000001', sid: 'sid-1', scope: 'openid', created_at: T, expires_at: T + 600 * MINUTE }
const signedInGrant: GrantRecord = {
  grant_id: 'g4',
  client_id: client.client_id,
  sub: '555000000001',
  sid: 'sid-4',
  scope: 'openid selectedrole',
  sign_in: { acr: 'AAL3_ANY', amr: ['N3_SMARTCARD'], aal: 3, auth_time: T - MINUTE, id_assurance_level: '3', selected_roleid: '555000000001-1' },
  created_at: T,
  expires_at: T + 600 * MINUTE,
}
const refreshToken: RefreshTokenRecord = { token_hash: 'rt-hash', grant_id: 'g1', client_id: client.client_id, created_at: T, expires_at: T + 300 * MINUTE }
const session: SessionRecord = {
  session_hash: 's-hash',
  sid: 'sid-1',
  sub: '555000000001',
  amr: ['PWD', 'OTP'],
  aal: 3,
  auth_time: T,
  created_at: T,
  last_seen_at: T,
  expires_at: T + 600 * MINUTE,
  idle_expires_at: T + 30 * MINUTE,
  selected_roleid: '555000000001-1',
  clients: [client.client_id],
  binding: 'card-session-1',
}
const notification: LogoutNotification = {
  id: 'n1',
  client_id: client.client_id,
  backchannel_logout_uri: 'https://ward.example/backchannel',
  sub: '555000000001',
  sid: 'sid-0',
  created_at: T,
  attempts: 1,
  next_attempt_at: T + MINUTE,
  last_error: '503',
}
const card: CardRecord = {
  serial: '7f3a9c0e11d24b6a8e5f0c1d2b3a4958',
  uid: '555000000001',
  kind: 'virtual',
  certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  not_before: T,
  not_after: T + 730 * 1440 * MINUTE,
  created_at: T,
  status: 'active',
  failed_attempts: 2,
}

const application: ApplicationRecord = {
  api_key: 'Too5BdPayTQACdw1AJK1rD4nKUD0Ag7J',
  name: 'Ward rounds (API Platform)',
  secret_hash: 'c2VjcmV0LWhhc2g',
  callback_urls: ['https://ward.example/platform-callback'],
  jwks_uri: 'https://ward.example/jwks.json',
  subscriptions: [{ product: 'personal-demographics-service', scopes: ['urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'] }],
  created_at: T,
}

const apiGrant: ApiGrantRecord = {
  grant_id: 'ag1',
  api_key: application.api_key,
  pattern: 'combined',
  scope: 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service',
  user: { sub: '555000000001', sid: 'cis2-sid-1', aal: 3, acr: 'AAL3_ANY', selected_roleid: '555000000001-1', role_ids: ['555000000001-1'] },
  cis2_access_token_sealed: 'v1.sealed-cis2-token',
  authenticated_at: T - MINUTE,
  refresh_until: T + 720 * MINUTE,
  created_at: T,
  expires_at: T + 60 * MINUTE,
}
/** The grant as its row: the user as JSON in grant_user, its sid repeated for the index. */
const { user: apiGrantUser, ...apiGrantFields } = apiGrant
const apiGrantRow: Row = { ...apiGrantFields, grant_user: apiGrantUser, sid: apiGrantUser?.sid }
const apiAccessToken: ApiTokenRecord = { token_hash: 'at-hash', grant_id: 'ag1', kind: 'access', refresh_count: 0, created_at: T, expires_at: T + 10 * MINUTE }
const apiRefreshToken: ApiTokenRecord = { token_hash: 'art-hash', grant_id: 'ag1', kind: 'refresh', refresh_count: 0, created_at: T, expires_at: T + 60 * MINUTE }

/**
 * What a Careid at each schema version wrote (its own tables' rows), how the latest store must read
 * it back (`check`), and how that version's tables must behave in a database upgraded from before it
 * (`fresh`: empty, and working). Every version of the schema has an entry, so a new migration without
 * one fails.
 */
const written: Record<number, { rows: [table: string, row: Row][]; check(store: Store): Promise<void>; fresh(store: Store): Promise<void> }> = {
  1: {
    rows: [
      ['clients', { ...client }],
      ['signing_keys', { ...signingKey }],
      ['people', { uid: person.uid, username: 'ada.nurse', person }],
      ['credentials', { ...credential }],
      ['grants', { ...grant }],
      ['refresh_tokens', { ...refreshToken }],
      ['sessions', { ...session }],
      ['logout_outbox', { ...notification }],
      ['audit_log', { at: T, type: 'session.started', subject: '555000000001', detail: { amr: ['PWD'] } }],
      ['codes', { code_hash: 'c-hash', client_id: client.client_id, redirect_uri: client.redirect_uris[0], grant_id: 'g2', expires_at: T + MINUTE, payload: { nonce: 'n' } }],
      ['interactions', { id: 'i1', expires_at: T + 10 * MINUTE, payload: { step: 1 } }],
      ['replay_markers', { key: 'jti:1', expires_at: T + MINUTE }],
    ],
    async check(store) {
      assert.deepStrictEqual(await store.clients.get(client.client_id), client)
      assert.deepStrictEqual(await store.keys.list(), [signingKey])
      assert.deepStrictEqual(await store.people.get(person.uid), person)
      assert.deepStrictEqual(await store.people.getByUsername('ada.nurse'), person)
      assert.deepStrictEqual(await store.credentials.listByPerson('555000000001'), [credential])
      assert.deepStrictEqual(await store.grants.get('g1'), grant)
      assert.deepStrictEqual(await store.refreshTokens.get('rt-hash'), refreshToken)
      assert.deepStrictEqual(await store.sessions.get('s-hash'), session)
      assert.deepStrictEqual(await store.sessions.listByBinding('card-session-1'), [session])
      assert.deepStrictEqual(await store.outbox.get('n1'), notification)
      assert.deepStrictEqual(await store.audit.recent(5), [{ at: T, type: 'session.started', subject: '555000000001', detail: { amr: ['PWD'] } }])
      assert.equal((await store.codes.redeem('c-hash', T)).kind, 'first')
      assert.deepStrictEqual(await store.interactions.get('i1', T), { id: 'i1', expires_at: T + 10 * MINUTE, payload: { step: 1 } })
      assert.equal(await store.replay.has('jti:1', T), true)
    },
    async fresh(store) {
      assert.deepStrictEqual(await store.clients.list(), [])
      await store.clients.put(client)
      assert.deepStrictEqual(await store.clients.get(client.client_id), client)
    },
  },
  2: {
    rows: [['rate_counters', { key: 'sign-in:abc', window_end: rateWindowEnd(MINUTE, T), hits: 4 }]],
    async check(store) {
      // The window carried over counts on from where it was.
      assert.equal(await store.rates.hit('sign-in:abc', MINUTE, T), 5)
    },
    async fresh(store) {
      assert.equal(await store.rates.hit('sign-in:abc', MINUTE, T), 1)
    },
  },
  3: {
    rows: [
      ['cards', { ...card }],
      ['card_authority', { id: 1, certificate: 'ca-pem', private_key_sealed: 'v1.sealed', created_at: T }],
    ],
    async check(store) {
      assert.deepStrictEqual(await store.cards.get(card.serial), card)
      assert.deepStrictEqual(await store.cards.listByPerson('555000000001'), [card])
      assert.deepStrictEqual(await store.cards.getAuthority(), { certificate: 'ca-pem', private_key_sealed: 'v1.sealed', created_at: T })
      // The counter carried over counts on: one more attempt is the last, and the next is refused.
      const attempt = await store.cards.beginPasscodeAttempt(card.serial, T + 1)
      assert.deepStrictEqual(attempt, { outcome: 'begun', attemptsLeft: 0, card: { ...card, failed_attempts: 3 } })
      assert.deepStrictEqual(await store.cards.beginPasscodeAttempt(card.serial, T + 2), { outcome: 'locked' })
    },
    async fresh(store) {
      assert.deepStrictEqual(await store.cards.list(), [])
      await store.cards.put(card)
      assert.deepStrictEqual(await store.cards.get(card.serial), card)
    },
  },
  4: {
    rows: [
      ['grants', { ...signedInGrant }],
      ['refresh_tokens', { ...refreshToken, token_hash: 'rt-hash-4', grant_id: 'g4' }],
    ],
    async check(store) {
      assert.deepStrictEqual(await store.grants.get('g4'), signedInGrant)
      // The session's end revokes its grants through the new sid index, and takes their refresh tokens.
      assert.equal(await store.grants.revokeBySid('sid-4', T + 1), 1)
      assert.deepStrictEqual(await store.grants.get('g4'), { ...signedInGrant, revoked_at: T + 1 })
      assert.equal(await store.refreshTokens.get('rt-hash-4'), undefined)
    },
    async fresh(store) {
      // A grant stored before version 4 reads back without facts (version 1's check); a new one keeps them.
      await store.grants.put(signedInGrant)
      assert.deepStrictEqual(await store.grants.get('g4'), signedInGrant)
      await store.sessions.create({ ...session, session_hash: 's-hash-4', sid: 'sid-4', sub: '555000000004' })
      assert.deepStrictEqual(await store.sessions.listBySub('555000000004'), [{ ...session, session_hash: 's-hash-4', sid: 'sid-4', sub: '555000000004' }])
    },
  },
  5: {
    rows: [
      ['cards', { ...card, uid: '555000000002', serial: '0b1c', kind: 'virtual', failed_attempts: 0, unlock_secrets_sealed: 'v1.sealed-secrets' }],
      ['cards', { ...card, uid: '555000000002', serial: '0b1e', kind: 'pkcs11', failed_attempts: 0, authentication_key: 'MFkwEwYH' }],
    ],
    async check(store) {
      assert.deepStrictEqual(await store.cards.get('0b1c'), { ...card, uid: '555000000002', serial: '0b1c', kind: 'virtual', failed_attempts: 0, unlock_secrets_sealed: 'v1.sealed-secrets' })
      assert.deepStrictEqual(await store.cards.get('0b1e'), { ...card, uid: '555000000002', serial: '0b1e', kind: 'pkcs11', failed_attempts: 0, authentication_key: 'MFkwEwYH' })
    },
    async fresh(store) {
      // A card of an earlier version has no unlock secrets; new ones keep theirs.
      assert.equal((await store.cards.list()).some((c) => c.unlock_secrets_sealed !== undefined || c.authentication_key !== undefined), false)
      const issued = { ...card, uid: '555000000002', serial: '0b1d', unlock_secrets_sealed: 'v1.sealed' }
      await store.cards.put(issued)
      assert.deepStrictEqual(await store.cards.get('0b1d'), issued)
    },
  },
  // Clients written before version 6 read back with no web_origins (version 1's check): their
  // redirect URIs' origins apply.
  6: {
    rows: [['clients', { ...client, client_id: '000000000006.apps.national', web_origins: ['https://spa.example', 'http://localhost:5173'] }]],
    async check(store) {
      assert.deepStrictEqual(await store.clients.get('000000000006.apps.national'), {
        ...client,
        client_id: '000000000006.apps.national',
        web_origins: ['https://spa.example', 'http://localhost:5173'],
      })
    },
    async fresh(store) {
      await store.clients.put({ ...client, client_id: '000000000006.apps.national', web_origins: ['https://spa.example'] })
      assert.deepStrictEqual((await store.clients.get('000000000006.apps.national'))?.web_origins, ['https://spa.example'])
    },
  },
  // Events recorded before version 7 read back without an actor (version 1's check): Careid itself
  // recorded them. Version 7 only adds columns to the audit log, and version 1's check reads the
  // whole log, so its data is an administrator's change appended after the upgrade.
  7: {
    rows: [],
    async check(store) {
      await appendsAnAdministratorsChange(store)
    },
    async fresh(store) {
      await appendsAnAdministratorsChange(store)
    },
  },
  8: {
    rows: [['patients', { ...patient }]],
    async check(store) {
      assert.deepStrictEqual(await store.patients.get(patient.nhs_number), patient)
      assert.deepStrictEqual(await store.patients.search({ family: 'SMITH', birth_date_from: '1990-01-01', birth_date_to: '1990-12-31', limit: 5 }), [patient])
      // The version carried over is the one a PATCH must name.
      assert.equal(await store.patients.update(patient.nhs_number, 1, { ...patient, version: 2 }), false)
      assert.equal(await store.patients.update(patient.nhs_number, 3, { ...patient, version: 4 }), true)
      assert.equal((await store.patients.get(patient.nhs_number))?.version, 4)
    },
    async fresh(store) {
      assert.equal(await store.patients.count(), 0)
      await store.patients.putMany([patient])
      assert.deepStrictEqual(await store.patients.get(patient.nhs_number), patient)
    },
  },
  // Version 9 adds the API Platform applications' table.
  9: {
    rows: [['apim_applications', { ...application }]],
    async check(store) {
      assert.deepStrictEqual(await store.apps.list(), [application])
    },
    async fresh(store) {
      assert.deepStrictEqual(await store.apps.list(), [])
      await store.apps.put(application)
      assert.deepStrictEqual(await store.apps.get(application.api_key), application)
    },
  },
  // Version 10 adds the API Platform's grants and their tokens.
  10: {
    rows: [
      ['api_grants', apiGrantRow],
      ['api_tokens', { ...apiAccessToken }],
      ['api_tokens', { ...apiRefreshToken }],
    ],
    async check(store) {
      assert.deepStrictEqual(await store.apiGrants.findAccess('at-hash', T), { token: apiAccessToken, grant: apiGrant })
      // The session's end finds the grant through the sid column.
      assert.equal(await store.apiGrants.revokeBySid('cis2-sid-1', T + 1), 1)
      assert.equal(await store.apiGrants.findRefresh('art-hash', T + 2), undefined)
    },
    async fresh(store) {
      assert.equal(await store.apiGrants.removeExpired(T), 0)
      await store.apiGrants.issue(apiGrant, [apiAccessToken, apiRefreshToken])
      assert.equal(await store.apiGrants.rotate('art-hash', [{ ...apiRefreshToken, token_hash: 'art-hash-2', refresh_count: 1 }], T + 1), true)
      assert.deepStrictEqual(await store.apiGrants.findRefresh('art-hash-2', T + 1), { token: { ...apiRefreshToken, token_hash: 'art-hash-2', refresh_count: 1 }, grant: apiGrant })
    },
  },
}

async function appendsAnAdministratorsChange(store: Store): Promise<void> {
  const change = {
    at: T + 7,
    type: 'client.removed',
    actor: 'cli:ra.whitfield',
    subject: client.client_id,
    client_id: client.client_id,
    before_digest: 'Zm9yZS1kaWdlc3Q',
    detail: { name: 'Ward rounds' },
  }
  await store.audit.append(change)
  const [latest, earlier] = await store.audit.recent(2)
  assert.deepStrictEqual(latest, change)
  if (earlier !== undefined) assert.equal(earlier.actor, undefined)
}

/**
 * The latest store opened on a database upgraded from `from`: the data of every version up to
 * `from` reads back, and the tables of later versions start empty and work.
 */
async function checkUpgraded(store: Store, from: number, latest: number): Promise<void> {
  assert.equal(await store.ping(), true)
  for (let version = 1; version <= latest; version++) {
    if (version <= from) await written[version]?.check(store)
    else await written[version]?.fresh(store)
  }
}

/** Every version a database can be found at: 0 (empty) up to the latest. */
function versions(latest: number): number[] {
  return Array.from({ length: latest + 1 }, (_, v) => v)
}

it('every schema version has data written at it', () => {
  assert.deepStrictEqual(Object.keys(written).map(Number), sqliteMigrations.map((m) => m.version))
  assert.deepStrictEqual(Object.keys(written).map(Number), postgresMigrations.map((m) => m.version))
})

describe('sqlite: upgrades', () => {
  const dir = mkdtempSync(join(tmpdir(), 'careid-migrations-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  for (const from of versions(latestSchemaVersion)) {
    it(`from version ${from}, with its data, to the latest (${latestSchemaVersion})`, async () => {
      const path = join(dir, `from-${from}.db`)
      for (let version = 1; version <= from; version++) {
        migrateSqliteTo(path, version)
        for (const [table, row] of written[version]?.rows ?? []) insertSqlite(path, table, row)
      }
      const store = await openSqliteStore({ path })
      try {
        await checkUpgraded(store, from, latestSchemaVersion)
      } finally {
        await store.close()
      }
    })
  }
})

const postgres = await ensurePostgres()
if (postgres.available) {
  const url = postgres.url
  describe('postgres: upgrades', () => {
    const schemas: string[] = []
    after(async () => {
      const admin = new pg.Client({ connectionString: url })
      await admin.connect()
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await admin.end()
    })

    for (const from of versions(latestPostgresSchemaVersion)) {
      it(`from version ${from}, with its data, to the latest (${latestPostgresSchemaVersion})`, async () => {
        const schema = `careid_test_${randomBytes(6).toString('hex')}`
        schemas.push(schema)
        await migratePostgresTo(url, schema, 0)
        for (let version = 1; version <= from; version++) {
          await migratePostgresTo(url, schema, version)
          for (const [table, row] of written[version]?.rows ?? []) await insertPostgres(url, schema, table, row)
        }
        const store = await openPostgresStore({ url, schema })
        try {
          await checkUpgraded(store, from, latestPostgresSchemaVersion)
        } finally {
          await store.close()
        }
      })
    }
  })
} else {
  it('postgres: upgrades', { skip: postgres.reason }, () => {})
}
