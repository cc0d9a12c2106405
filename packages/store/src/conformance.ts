/**
 * The one storage conformance suite. Every adapter runs it through `runStoreConformance`; it speaks
 * only the contract, so a behaviour it checks is a behaviour every backend shares.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type {
  AuditEvent,
  AuthorizationCodeRecord,
  CardRecord,
  ClientRecord,
  CredentialRecord,
  GrantRecord,
  InteractionRecord,
  LogoutNotification,
  RefreshTokenRecord,
  SessionRecord,
  SigningKeyRecord,
  Store,
} from '@careid/ports'
import { runUnitOfWorkConformance } from './conformance_unit_of_work.ts'
import { rateWindowEnd } from '@careid/ports'

/** A store for one test, and how to dispose of it (close it, drop its data). */
export interface ConformanceSubject {
  store: Store
  cleanup(): Promise<void>
}

/** An arbitrary fixed time, so every test controls the clock. */
const T = 1_700_000_000_000
const MINUTE = 60_000
/** How many concurrent callers race for one single-use item. */
const RACERS = 20

function client(id: string, changes: Partial<ClientRecord> = {}): ClientRecord {
  return {
    client_id: id,
    client_name: `Client ${id}`,
    redirect_uris: [`https://${id}.example/callback`, `https://${id}.example/other`],
    post_logout_redirect_uris: [`https://${id}.example/bye`],
    token_endpoint_auth_method: 'client_secret_basic',
    refresh_tokens: false,
    created_at: T,
    ...changes,
  }
}

function fullClient(id: string): ClientRecord {
  return client(id, {
    backchannel_logout_uri: `https://${id}.example/backchannel`,
    token_endpoint_auth_method: 'private_key_jwt',
    client_secret_hash: 'c2VjcmV0LWhhc2g',
    jwks_uri: `https://${id}.example/jwks`,
    jwks: { keys: [{ kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB', ext: true, key_ops: ['verify'] }] },
    token_endpoint_auth_signing_alg: 'PS256',
    refresh_tokens: true,
    web_origins: [`https://${id}.example`, 'http://localhost:3000'],
  })
}

function signingKey(kid: string, state: SigningKeyRecord['state'], changes: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return {
    kid,
    alg: 'RS256',
    public_jwk: { kty: 'RSA', kid, alg: 'RS256', use: 'sig', n: `n-${kid}`, e: 'AQAB' },
    private_jwk_encrypted: `envelope-${kid}`,
    state,
    created_at: T,
    activate_at: T + MINUTE,
    ...changes,
  }
}

function credential(id: string, uid: string, changes: Partial<CredentialRecord> = {}): CredentialRecord {
  return {
    id,
    uid,
    kind: 'password',
    secret: `$argon2id$hash-${id}`,
    state: { failures: 0, locked_until: null, recent: [1, 2], nested: { ok: true } },
    version: 0,
    created_at: T,
    ...changes,
  }
}

function card(serial: string, uid: string, changes: Partial<CardRecord> = {}): CardRecord {
  return {
    serial,
    uid,
    kind: 'virtual',
    certificate: `-----BEGIN CERTIFICATE-----\nMIIB-${serial}\n-----END CERTIFICATE-----\n`,
    not_before: T,
    not_after: T + 730 * 24 * 60 * MINUTE,
    created_at: T,
    status: 'active',
    failed_attempts: 0,
    ...changes,
  }
}

function grant(id: string, changes: Partial<GrantRecord> = {}): GrantRecord {
  return {
    grant_id: id,
    client_id: 'client-a',
    sub: '555000000001',
    sid: `sid-${id}`,
    scope: 'openid profile nationalrbacaccess',
    created_at: T,
    expires_at: T + 60 * MINUTE,
    ...changes,
  }
}

function refreshToken(hash: string, grantId: string, changes: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return { token_hash: hash, grant_id: grantId, client_id: 'client-a', created_at: T, expires_at: T + 30 * MINUTE, ...changes }
}

function code(hash: string, changes: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    code_hash: hash,
    client_id: 'client-a',
    redirect_uri: 'https://client-a.example/callback',
    grant_id: `grant-of-${hash}`,
    expires_at: T + MINUTE,
    payload: { nonce: 'n-0S6_WzA2Mj', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', scopes: ['openid', 'profile'], acr: null, aal: 3 },
    ...changes,
  }
}

function session(hash: string, changes: Partial<SessionRecord> = {}): SessionRecord {
  return {
    session_hash: hash,
    sid: `sid-${hash}`,
    sub: '555000000001',
    amr: ['SCA'],
    aal: 3,
    auth_time: T,
    created_at: T,
    last_seen_at: T,
    expires_at: T + 12 * 60 * MINUTE,
    idle_expires_at: T + 30 * MINUTE,
    clients: [],
    ...changes,
  }
}

function notification(id: string, changes: Partial<LogoutNotification> = {}): LogoutNotification {
  return {
    id,
    client_id: 'client-a',
    backchannel_logout_uri: 'https://client-a.example/backchannel',
    sub: '555000000001',
    sid: `sid-${id}`,
    created_at: T,
    attempts: 0,
    next_attempt_at: T,
    ...changes,
  }
}

function interaction(id: string, changes: Partial<InteractionRecord> = {}): InteractionRecord {
  return { id, expires_at: T + 10 * MINUTE, payload: { client_id: 'client-a', scopes: ['openid'], step: 1, prompt: null }, ...changes }
}

/** Starts `n` calls together and waits for them all. */
function race<R>(n: number, call: (i: number) => Promise<R>): Promise<R[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => call(i)))
}

function countKinds(outcomes: { kind: string }[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const { kind } of outcomes) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/** Where the contract promises no order, tests compare in a fixed one. */
function sortedBy<R>(items: R[], key: (item: R) => string): R[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

/**
 * Registers the storage conformance suite with node:test. `open` is called once per test and must
 * return an empty, migrated store; the suite calls `cleanup` when the test ends.
 */
export function runStoreConformance(name: string, open: () => Promise<ConformanceSubject>): void {
  function test(title: string, body: (store: Store) => Promise<void>): void {
    it(title, async () => {
      const { store, cleanup } = await open()
      try {
        await body(store)
      } finally {
        await cleanup()
      }
    })
  }

  describe(`storage contract: ${name}`, () => {
    describe('clients', () => {
      test('round-trips a client with every field', async (store) => {
        await store.clients.put(fullClient('a'))
        assert.deepStrictEqual(await store.clients.get('a'), fullClient('a'))
      })

      test('round-trips a client without optional fields, leaving them absent', async (store) => {
        await store.clients.put(client('a'))
        assert.deepStrictEqual(await store.clients.get('a'), client('a'))
      })

      test('get of an unknown client is undefined', async (store) => {
        assert.equal(await store.clients.get('nobody'), undefined)
      })

      test('put replaces by client_id, dropping fields the new record lacks', async (store) => {
        await store.clients.put(fullClient('a'))
        const replacement = client('a', { client_name: 'Renamed', redirect_uris: ['https://a.example/new'] })
        await store.clients.put(replacement)
        assert.deepStrictEqual(await store.clients.get('a'), replacement)
        assert.equal((await store.clients.list()).length, 1)
      })

      test('list returns every client', async (store) => {
        await store.clients.put(client('c'))
        await store.clients.put(fullClient('a'))
        await store.clients.put(client('b'))
        const listed = sortedBy(await store.clients.list(), (c) => c.client_id)
        assert.deepStrictEqual(listed, [fullClient('a'), client('b'), client('c')])
      })

      test('list of an empty store is empty', async (store) => {
        assert.deepStrictEqual(await store.clients.list(), [])
      })

      test('remove is true once, then false', async (store) => {
        await store.clients.put(client('a'))
        await store.clients.put(client('b'))
        assert.equal(await store.clients.remove('a'), true)
        assert.equal(await store.clients.remove('a'), false)
        assert.equal(await store.clients.get('a'), undefined)
        assert.deepStrictEqual(await store.clients.list(), [client('b')])
      })

      test('returns fresh objects', async (store) => {
        await store.clients.put(fullClient('a'))
        const first = await store.clients.get('a')
        assert.ok(first)
        first.client_name = 'mutated'
        first.redirect_uris.push('https://evil.example/')
        first.jwks?.keys.push('x')
        assert.deepStrictEqual(await store.clients.get('a'), fullClient('a'))
      })
    })

    describe('keys', () => {
      test('round-trips keys with and without remove_at', async (store) => {
        const keys = [signingKey('a', 'retired', { remove_at: T + 5 * MINUTE }), signingKey('b', 'active'), signingKey('c', 'next')]
        for (const key of keys) await store.keys.put(key)
        assert.deepStrictEqual(sortedBy(await store.keys.list(), (k) => k.kid), keys)
      })

      test('put replaces by kid', async (store) => {
        await store.keys.put(signingKey('a', 'next'))
        const replacement = signingKey('a', 'next', { alg: 'ES256', activate_at: T + 9 * MINUTE, public_jwk: { kty: 'EC', crv: 'P-256' } })
        await store.keys.put(replacement)
        assert.deepStrictEqual(await store.keys.list(), [replacement])
      })

      test('put refuses a second active key and changes nothing', async (store) => {
        await store.keys.put(signingKey('a', 'active'))
        await assert.rejects(store.keys.put(signingKey('b', 'active')))
        assert.deepStrictEqual(await store.keys.list(), [signingKey('a', 'active')])
      })

      test('activate makes a next key the only active one and retires the previous', async (store) => {
        await store.keys.put(signingKey('old', 'active'))
        await store.keys.put(signingKey('new', 'next'))
        await store.keys.put(signingKey('later', 'next'))
        assert.equal(await store.keys.activate('new', T + 99 * MINUTE), true)
        assert.deepStrictEqual(sortedBy(await store.keys.list(), (k) => k.kid), [
          signingKey('later', 'next'),
          signingKey('new', 'active'),
          signingKey('old', 'retired', { remove_at: T + 99 * MINUTE }),
        ])
      })

      test('activate works when no key is active yet', async (store) => {
        await store.keys.put(signingKey('first', 'next'))
        assert.equal(await store.keys.activate('first', T), true)
        assert.deepStrictEqual(await store.keys.list(), [signingKey('first', 'active')])
      })

      test('activate refuses anything but a next key and changes nothing', async (store) => {
        const keys = [signingKey('active', 'active'), signingKey('next', 'next'), signingKey('retired', 'retired', { remove_at: T })]
        for (const key of keys) await store.keys.put(key)
        assert.equal(await store.keys.activate('active', T + MINUTE), false)
        assert.equal(await store.keys.activate('retired', T + MINUTE), false)
        assert.equal(await store.keys.activate('unknown', T + MINUTE), false)
        assert.deepStrictEqual(sortedBy(await store.keys.list(), (k) => k.kid), keys)
      })

      test('concurrent activations of one key: exactly one succeeds', async (store) => {
        await store.keys.put(signingKey('old', 'active'))
        await store.keys.put(signingKey('new', 'next'))
        const results = await race(RACERS, () => store.keys.activate('new', T + MINUTE))
        assert.equal(results.filter((r) => r).length, 1)
        assert.deepStrictEqual(sortedBy(await store.keys.list(), (k) => k.kid), [
          signingKey('new', 'active'),
          signingKey('old', 'retired', { remove_at: T + MINUTE }),
        ])
      })

      test('concurrent activations of different keys leave exactly one active', async (store) => {
        await store.keys.put(signingKey('old', 'active'))
        for (const kid of ['x', 'y', 'z']) await store.keys.put(signingKey(kid, 'next'))
        const results = await Promise.all(['x', 'y', 'z'].map((kid) => store.keys.activate(kid, T + MINUTE)))
        assert.deepStrictEqual(results, [true, true, true])
        const states = (await store.keys.list()).map((k) => k.state).sort()
        assert.deepStrictEqual(states, ['active', 'retired', 'retired', 'retired'])
      })

      test('removeExpired deletes retired keys whose remove_at <= now, and only those', async (store) => {
        await store.keys.put(signingKey('due', 'retired', { remove_at: T }))
        await store.keys.put(signingKey('past', 'retired', { remove_at: T - MINUTE }))
        await store.keys.put(signingKey('notyet', 'retired', { remove_at: T + 1 }))
        await store.keys.put(signingKey('active', 'active', { remove_at: T - MINUTE }))
        await store.keys.put(signingKey('next', 'next', { remove_at: T - MINUTE }))
        assert.deepStrictEqual((await store.keys.removeExpired(T)).sort(), ['due', 'past'])
        assert.deepStrictEqual((await store.keys.list()).map((k) => k.kid).sort(), ['active', 'next', 'notyet'])
        assert.deepStrictEqual(await store.keys.removeExpired(T), [])
      })
    })

    describe('people', () => {
      const alice = { uid: '555000000001', name: { given: 'Alice', family: 'Smith' }, roles: [{ id: 'R1', org: 'RX1' }], active: true, note: null }
      const bob = { uid: '555000000002', name: { given: 'Bob', family: 'Jones' }, roles: [], active: false, note: 'x' }

      test('round-trips by uid, by username and in list', async (store) => {
        await store.people.put(alice.uid, 'alice', alice)
        await store.people.put(bob.uid, 'bob', bob)
        assert.deepStrictEqual(await store.people.get(alice.uid), alice)
        assert.deepStrictEqual(await store.people.getByUsername('bob'), bob)
        const listed = sortedBy(await store.people.list(), (p) => JSON.stringify(p))
        assert.deepStrictEqual(listed, sortedBy([alice, bob], (p) => JSON.stringify(p)))
      })

      test('unknown uid and username are undefined', async (store) => {
        await store.people.put(alice.uid, 'alice', alice)
        assert.equal(await store.people.get('nobody'), undefined)
        assert.equal(await store.people.getByUsername('nobody'), undefined)
      })

      test('put replaces by uid and releases the old username', async (store) => {
        await store.people.put(alice.uid, 'alice', alice)
        const renamed = { ...alice, name: { given: 'Alicia', family: 'Smith' } }
        await store.people.put(alice.uid, 'alicia', renamed)
        assert.deepStrictEqual(await store.people.get(alice.uid), renamed)
        assert.deepStrictEqual(await store.people.getByUsername('alicia'), renamed)
        assert.equal(await store.people.getByUsername('alice'), undefined)
        await store.people.put(bob.uid, 'alice', bob)
        assert.deepStrictEqual(await store.people.getByUsername('alice'), bob)
        assert.equal((await store.people.list()).length, 2)
      })

      test('a username taken by another person is refused, changing nothing', async (store) => {
        await store.people.put(alice.uid, 'alice', alice)
        await assert.rejects(store.people.put(bob.uid, 'alice', bob))
        assert.equal(await store.people.get(bob.uid), undefined)
        assert.deepStrictEqual(await store.people.getByUsername('alice'), alice)
        assert.deepStrictEqual(await store.people.list(), [alice])
      })

      test('returns fresh objects', async (store) => {
        await store.people.put(alice.uid, 'alice', alice)
        const got = (await store.people.get(alice.uid)) as { roles: unknown[] }
        got.roles.push('x')
        assert.deepStrictEqual(await store.people.get(alice.uid), alice)
      })
    })

    describe('credentials', () => {
      test('round-trips by id and lists only the person\'s credentials', async (store) => {
        const mine = [credential('c1', 'u1'), credential('c2', 'u1', { kind: 'totp', secret: 'enc:totp', state: {} })]
        for (const c of mine) await store.credentials.put(c)
        await store.credentials.put(credential('c3', 'u2'))
        assert.deepStrictEqual(await store.credentials.get('c2'), mine[1])
        assert.deepStrictEqual(sortedBy(await store.credentials.listByPerson('u1'), (c) => c.id), mine)
        assert.deepStrictEqual(await store.credentials.listByPerson('nobody'), [])
        assert.equal(await store.credentials.get('nope'), undefined)
      })

      test('put replaces by id', async (store) => {
        await store.credentials.put(credential('c1', 'u1'))
        const replacement = credential('c1', 'u1', { secret: 'new', state: { failures: 3 }, version: 7 })
        await store.credentials.put(replacement)
        assert.deepStrictEqual(await store.credentials.get('c1'), replacement)
      })

      test('updateState applies only at the expected version, bumping it', async (store) => {
        await store.credentials.put(credential('c1', 'u1', { version: 4 }))
        assert.equal(await store.credentials.updateState('c1', 4, { failures: 1 }), true)
        const updated = credential('c1', 'u1', { version: 5, state: { failures: 1 } })
        assert.deepStrictEqual(await store.credentials.get('c1'), updated)
        assert.equal(await store.credentials.updateState('c1', 4, { failures: 99 }), false)
        assert.deepStrictEqual(await store.credentials.get('c1'), updated)
        assert.equal(await store.credentials.updateState('unknown', 0, {}), false)
      })

      test('concurrent updateState at one version: exactly one wins', async (store) => {
        await store.credentials.put(credential('c1', 'u1'))
        const results = await race(RACERS, (i) => store.credentials.updateState('c1', 0, { writer: i }))
        const winners = results.flatMap((won, i) => (won ? [i] : []))
        assert.equal(winners.length, 1)
        assert.deepStrictEqual(await store.credentials.get('c1'), credential('c1', 'u1', { version: 1, state: { writer: winners[0] ?? -1 } }))
      })

      test('remove is true once, then false', async (store) => {
        await store.credentials.put(credential('c1', 'u1'))
        await store.credentials.put(credential('c2', 'u1'))
        assert.equal(await store.credentials.remove('c1'), true)
        assert.equal(await store.credentials.remove('c1'), false)
        assert.equal(await store.credentials.get('c1'), undefined)
        assert.deepStrictEqual(await store.credentials.listByPerson('u1'), [credential('c2', 'u1')])
      })
    })

    describe('cards', () => {
      test('round-trips with and without optional fields, and lists by person', async (store) => {
        const mine = [
          card('0a', 'u1', { unlock_secrets_sealed: 'v1.sealed-secrets' }),
          card('0b', 'u1', { kind: 'pkcs11', created_at: T + 1, failed_attempts: 3, locked_at: T + 2, status: 'revoked', revoked_at: T + 3, authentication_key: 'MFkwEwYH' }),
        ]
        for (const c of mine) await store.cards.put(c)
        await store.cards.put(card('0c', 'u2', { created_at: T + 2 }))
        assert.deepStrictEqual(await store.cards.get('0a'), mine[0])
        assert.deepStrictEqual(await store.cards.get('0b'), mine[1])
        assert.deepStrictEqual(await store.cards.listByPerson('u1'), mine)
        assert.deepStrictEqual(await store.cards.listByPerson('nobody'), [])
        assert.deepStrictEqual(await store.cards.list(), [...mine, card('0c', 'u2', { created_at: T + 2 })])
        assert.equal(await store.cards.get('ff'), undefined)
      })

      test('put replaces by serial, dropping fields the new record lacks', async (store) => {
        await store.cards.put(card('0a', 'u1', { failed_attempts: 3, locked_at: T }))
        await store.cards.put(card('0a', 'u1'))
        assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
        assert.equal((await store.cards.list()).length, 1)
      })

      test('each begun attempt counts; three unproven ones lock the card and later ones are refused', async (store) => {
        await store.cards.put(card('0a', 'u1'))
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 1), { outcome: 'begun', attemptsLeft: 2, card: card('0a', 'u1', { failed_attempts: 1 }) })
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 2), { outcome: 'begun', attemptsLeft: 1, card: card('0a', 'u1', { failed_attempts: 2 }) })
        // The third is still begun, unlocked: the right passcode on the third try must open the card.
        const third = card('0a', 'u1', { failed_attempts: 3 })
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 3), { outcome: 'begun', attemptsLeft: 0, card: third })
        assert.deepStrictEqual(await store.cards.get('0a'), third)
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 4), { outcome: 'locked' })
        const locked = card('0a', 'u1', { failed_attempts: 3, locked_at: T + 4 })
        assert.deepStrictEqual(await store.cards.get('0a'), locked)
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 5), { outcome: 'locked' })
        assert.deepStrictEqual(await store.cards.get('0a'), locked, 'the time of locking stays the first')
      })

      test('the right passcode on the third attempt opens the card and resets the count', async (store) => {
        await store.cards.put(card('0a', 'u1'))
        for (let i = 0; i < 3; i++) assert.equal((await store.cards.beginPasscodeAttempt('0a', T)).outcome, 'begun')
        assert.equal(await store.cards.passcodeProven('0a'), true)
        assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
      })

      test('a wrong passcode on the last attempt locks the card at once; earlier wrong ones do not', async (store) => {
        await store.cards.put(card('0a', 'u1'))
        await store.cards.beginPasscodeAttempt('0a', T + 1)
        assert.equal(await store.cards.passcodeWrong('0a', T + 1), false)
        await store.cards.beginPasscodeAttempt('0a', T + 2)
        assert.equal(await store.cards.passcodeWrong('0a', T + 2), false)
        assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1', { failed_attempts: 2 }))
        await store.cards.beginPasscodeAttempt('0a', T + 3)
        assert.equal(await store.cards.passcodeWrong('0a', T + 3), true)
        const locked = card('0a', 'u1', { failed_attempts: 3, locked_at: T + 3 })
        assert.deepStrictEqual(await store.cards.get('0a'), locked)
        assert.equal(await store.cards.passcodeWrong('0a', T + 9), true)
        assert.deepStrictEqual(await store.cards.get('0a'), locked, 'the time of locking stays the first')
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 10), { outcome: 'locked' })
      })

      test('a wrong passcode after the count was reset by a right one locks nothing', async (store) => {
        await store.cards.put(card('0a', 'u1'))
        for (let i = 0; i < 3; i++) await store.cards.beginPasscodeAttempt('0a', T)
        assert.equal(await store.cards.passcodeProven('0a'), true)
        assert.equal(await store.cards.passcodeWrong('0a', T + 1), false)
        assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
        assert.equal(await store.cards.passcodeWrong('ff', T), false)
        await store.cards.put(card('0b', 'u1', { status: 'revoked', revoked_at: T, failed_attempts: 3 }))
        assert.equal(await store.cards.passcodeWrong('0b', T + 1), false)
        assert.equal((await store.cards.get('0b'))?.locked_at, undefined)
      })

      test('concurrent wrong passcodes on the last attempts lock the card once', async (store) => {
        await store.cards.put(card('0a', 'u1', { failed_attempts: 3 }))
        const results = await race(RACERS, (i) => store.cards.passcodeWrong('0a', T + i))
        assert.ok(results.every((locked) => locked))
        const stored = await store.cards.get('0a')
        assert.equal(stored?.failed_attempts, 3)
        assert.equal(typeof stored?.locked_at, 'number')
        assert.ok((stored?.locked_at ?? -1) >= T && (stored?.locked_at ?? Infinity) < T + RACERS)
      })

      test("lock records a token's own PIN lock on an active card, keeping the first time", async (store) => {
        await store.cards.put(card('0a', 'u1', { kind: 'pkcs11' }))
        assert.equal(await store.cards.lock('0a', T + 5), true)
        const locked = card('0a', 'u1', { kind: 'pkcs11', failed_attempts: 3, locked_at: T + 5 })
        assert.deepStrictEqual(await store.cards.get('0a'), locked)
        assert.equal(await store.cards.lock('0a', T + 9), true)
        assert.deepStrictEqual(await store.cards.get('0a'), locked)
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 10), { outcome: 'locked' })
        const revoked = card('0b', 'u1', { kind: 'pkcs11', status: 'revoked', revoked_at: T })
        await store.cards.put(revoked)
        assert.equal(await store.cards.lock('0b', T + 1), false)
        assert.deepStrictEqual(await store.cards.get('0b'), revoked)
        assert.equal(await store.cards.lock('ff', T), false)
      })

      test('concurrent attempts never count past the limit', async (store) => {
        await store.cards.put(card('0a', 'u1'))
        const results = await race(RACERS, (i) => store.cards.beginPasscodeAttempt('0a', T + i))
        const begun = results.filter((r) => r.outcome === 'begun')
        assert.equal(begun.length, 3)
        assert.equal(results.filter((r) => r.outcome === 'locked').length, RACERS - 3)
        assert.deepStrictEqual(begun.map((r) => (r.outcome === 'begun' ? r.attemptsLeft : -1)).sort(), [0, 1, 2])
        const stored = await store.cards.get('0a')
        assert.equal(stored?.failed_attempts, 3)
        assert.equal(typeof stored?.locked_at, 'number')
      })

      test('a proven passcode resets the count, but not on a locked or revoked card', async (store) => {
        await store.cards.put(card('0a', 'u1'))
        await store.cards.beginPasscodeAttempt('0a', T)
        await store.cards.beginPasscodeAttempt('0a', T)
        assert.equal(await store.cards.passcodeProven('0a'), true)
        assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
        // Proven after every attempt: the count never reaches the limit.
        for (let i = 0; i < 5; i++) {
          assert.equal((await store.cards.beginPasscodeAttempt('0a', T)).outcome, 'begun')
          assert.equal(await store.cards.passcodeProven('0a'), true)
        }
        for (let i = 0; i < 4; i++) await store.cards.beginPasscodeAttempt('0a', T + 9)
        assert.equal(await store.cards.passcodeProven('0a'), false)
        assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1', { failed_attempts: 3, locked_at: T + 9 }))
        await store.cards.put(card('0b', 'u1', { status: 'revoked', revoked_at: T, failed_attempts: 1 }))
        assert.equal(await store.cards.passcodeProven('0b'), false)
        assert.equal((await store.cards.get('0b'))?.failed_attempts, 1)
        assert.equal(await store.cards.passcodeProven('ff'), false)
      })

      test('unlock clears the count and the lock of an active card only', async (store) => {
        await store.cards.put(card('0a', 'u1', { failed_attempts: 3, locked_at: T }))
        assert.equal(await store.cards.unlock('0a', T + 1), true)
        assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
        assert.equal((await store.cards.beginPasscodeAttempt('0a', T + 2)).outcome, 'begun')
        await store.cards.put(card('0b', 'u1', { status: 'revoked', revoked_at: T, failed_attempts: 3, locked_at: T }))
        assert.equal(await store.cards.unlock('0b', T + 1), false)
        assert.deepStrictEqual(await store.cards.get('0b'), card('0b', 'u1', { status: 'revoked', revoked_at: T, failed_attempts: 3, locked_at: T }))
        assert.equal(await store.cards.unlock('ff', T), false)
      })

      test('revoke is idempotent, keeps the first time, and refuses later attempts', async (store) => {
        await store.cards.put(card('0a', 'u1', { failed_attempts: 1 }))
        assert.equal(await store.cards.revoke('0a', T + 5), true)
        assert.equal(await store.cards.revoke('0a', T + 9), true)
        const revoked = card('0a', 'u1', { failed_attempts: 1, status: 'revoked', revoked_at: T + 5 })
        assert.deepStrictEqual(await store.cards.get('0a'), revoked)
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0a', T + 10), { outcome: 'revoked' })
        assert.deepStrictEqual(await store.cards.get('0a'), revoked)
        // Revoked wins over locked: the answer tells the holder the card is gone for good.
        await store.cards.put(card('0b', 'u1', { failed_attempts: 3, locked_at: T }))
        await store.cards.revoke('0b', T + 1)
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('0b', T + 2), { outcome: 'revoked' })
        assert.equal(await store.cards.revoke('ff', T), false)
        assert.deepStrictEqual(await store.cards.beginPasscodeAttempt('ff', T), { outcome: 'unknown' })
      })

      test('the card authority is stored once; a second one is refused in favour of the first', async (store) => {
        assert.equal(await store.cards.getAuthority(), undefined)
        const first = { certificate: 'ca-1', private_key_sealed: 'v1.sealed-1', created_at: T }
        assert.deepStrictEqual(await store.cards.initAuthority(first), first)
        assert.deepStrictEqual(await store.cards.initAuthority({ certificate: 'ca-2', private_key_sealed: 'v1.sealed-2', created_at: T + 1 }), first)
        assert.deepStrictEqual(await store.cards.getAuthority(), first)
      })

      test('concurrent first authorities: every caller gets the same one', async (store) => {
        const results = await race(RACERS, (i) => store.cards.initAuthority({ certificate: `ca-${i}`, private_key_sealed: `sealed-${i}`, created_at: T + i }))
        const stored = await store.cards.getAuthority()
        assert.ok(stored)
        for (const result of results) assert.deepStrictEqual(result, stored)
      })

      test('returns fresh objects', async (store) => {
        await store.cards.put(card('0a', 'u1'))
        const first = await store.cards.get('0a')
        assert.ok(first)
        first.failed_attempts = 99
        first.status = 'revoked'
        assert.deepStrictEqual(await store.cards.get('0a'), card('0a', 'u1'))
      })
    })

    describe('grants', () => {
      test('round-trips with and without revoked_at', async (store) => {
        await store.grants.put(grant('g1'))
        await store.grants.put(grant('g2', { revoked_at: T + 1 }))
        assert.deepStrictEqual(await store.grants.get('g1'), grant('g1'))
        assert.deepStrictEqual(await store.grants.get('g2'), grant('g2', { revoked_at: T + 1 }))
        assert.equal(await store.grants.get('nope'), undefined)
      })

      test('put replaces by grant_id', async (store) => {
        await store.grants.put(grant('g1'))
        await store.grants.put(grant('g1', { scope: 'openid', expires_at: T + 1 }))
        assert.deepStrictEqual(await store.grants.get('g1'), grant('g1', { scope: 'openid', expires_at: T + 1 }))
      })

      test('put cannot undo a revocation', async (store) => {
        await store.grants.put(grant('g1'))
        await store.grants.revoke('g1', T + 5)
        await store.grants.put(grant('g1', { scope: 'openid' }))
        await store.grants.put(grant('g1', { scope: 'openid', revoked_at: T + 9 }))
        assert.deepStrictEqual(await store.grants.get('g1'), grant('g1', { scope: 'openid', revoked_at: T + 5 }))
      })

      test('revoke marks the grant once: the first revocation time stays', async (store) => {
        await store.grants.put(grant('g1'))
        await store.grants.revoke('g1', T + 5)
        await store.grants.revoke('g1', T + 9)
        assert.deepStrictEqual(await store.grants.get('g1'), grant('g1', { revoked_at: T + 5 }))
      })

      test('revoke of an unknown grant does nothing', async (store) => {
        await store.grants.revoke('nope', T)
        assert.equal(await store.grants.get('nope'), undefined)
      })

      test('revoke deletes the grant\'s refresh tokens, and only those', async (store) => {
        await store.grants.put(grant('g1'))
        await store.grants.put(grant('g2'))
        await store.refreshTokens.put(refreshToken('r1', 'g1'))
        await store.refreshTokens.put(refreshToken('r1b', 'g1', { rotated_at: T }))
        await store.refreshTokens.put(refreshToken('r2', 'g2'))
        await store.grants.revoke('g1', T + 1)
        assert.equal(await store.refreshTokens.get('r1'), undefined)
        assert.equal(await store.refreshTokens.get('r1b'), undefined)
        assert.deepStrictEqual(await store.refreshTokens.rotate('r1', refreshToken('s1', 'g1'), T + 2), { kind: 'absent' })
        assert.deepStrictEqual(await store.refreshTokens.rotate('r1b', refreshToken('s1b', 'g1'), T + 2), { kind: 'absent' })
        assert.deepStrictEqual(await store.refreshTokens.get('r2'), refreshToken('r2', 'g2'))
      })

      test('round-trips the sign-in facts, with and without a selected role', async (store) => {
        const signIn = { acr: 'AAL3_ANY', amr: ['N3_SMARTCARD'], aal: 3 as const, auth_time: T - 5 * MINUTE, id_assurance_level: '3' }
        await store.grants.put(grant('g1', { sign_in: { ...signIn, selected_roleid: '555000000001-1' } }))
        await store.grants.put(grant('g2', { sign_in: signIn }))
        assert.deepStrictEqual(await store.grants.get('g1'), grant('g1', { sign_in: { ...signIn, selected_roleid: '555000000001-1' } }))
        assert.deepStrictEqual(await store.grants.get('g2'), grant('g2', { sign_in: signIn }))
      })

      test('revokeBySid revokes every grant of the session, deletes their refresh tokens, and nothing else', async (store) => {
        await store.grants.put(grant('a1', { sid: 'ended' }))
        await store.grants.put(grant('a2', { sid: 'ended', client_id: 'client-b' }))
        await store.grants.put(grant('b1', { sid: 'other' }))
        await store.refreshTokens.put(refreshToken('ra1', 'a1'))
        await store.refreshTokens.put(refreshToken('ra2', 'a2', { client_id: 'client-b' }))
        await store.refreshTokens.put(refreshToken('rb1', 'b1'))
        assert.equal(await store.grants.revokeBySid('ended', T + 5), 2)
        assert.deepStrictEqual(await store.grants.get('a1'), grant('a1', { sid: 'ended', revoked_at: T + 5 }))
        assert.deepStrictEqual(await store.grants.get('a2'), grant('a2', { sid: 'ended', client_id: 'client-b', revoked_at: T + 5 }))
        assert.equal(await store.refreshTokens.get('ra1'), undefined)
        assert.equal(await store.refreshTokens.get('ra2'), undefined)
        assert.deepStrictEqual(await store.refreshTokens.rotate('ra1', refreshToken('s1', 'a1'), T + 6), { kind: 'absent' })
        assert.deepStrictEqual(await store.grants.get('b1'), grant('b1', { sid: 'other' }))
        assert.deepStrictEqual(await store.refreshTokens.get('rb1'), refreshToken('rb1', 'b1'))
        assert.equal(await store.grants.revokeBySid('none', T + 5), 0)
      })

      test('revokeBySid is idempotent: earlier revocation times stay, and only new ones count', async (store) => {
        await store.grants.put(grant('a1', { sid: 'ended' }))
        await store.grants.put(grant('a2', { sid: 'ended' }))
        await store.grants.revoke('a1', T + 1)
        assert.equal(await store.grants.revokeBySid('ended', T + 5), 1)
        assert.equal(await store.grants.revokeBySid('ended', T + 9), 0)
        assert.deepStrictEqual(await store.grants.get('a1'), grant('a1', { sid: 'ended', revoked_at: T + 1 }))
        assert.deepStrictEqual(await store.grants.get('a2'), grant('a2', { sid: 'ended', revoked_at: T + 5 }))
      })

      test('revokeBySid racing rotations leaves no usable refresh token', async (store) => {
        for (let i = 0; i < RACERS; i++) {
          await store.grants.put(grant(`g${i}`, { sid: 'ended' }))
          await store.refreshTokens.put(refreshToken(`r${i}`, `g${i}`))
        }
        const [revoked] = await Promise.all([
          store.grants.revokeBySid('ended', T + 5),
          ...Array.from({ length: RACERS }, (_, i) => store.refreshTokens.rotate(`r${i}`, refreshToken(`s${i}`, `g${i}`), T + 5)),
        ])
        assert.equal(revoked, RACERS)
        for (let i = 0; i < RACERS; i++) {
          assert.equal(await store.refreshTokens.get(`s${i}`), undefined, `successor s${i} survived`)
          assert.deepStrictEqual(await store.refreshTokens.rotate(`r${i}`, refreshToken(`t${i}`, `g${i}`), T + 6), { kind: 'absent' })
        }
      })

      test('removeExpired deletes grants with expires_at <= now, with their refresh tokens', async (store) => {
        await store.grants.put(grant('due', { expires_at: T }))
        await store.grants.put(grant('past', { expires_at: T - 1 }))
        await store.grants.put(grant('live', { expires_at: T + 1 }))
        await store.refreshTokens.put(refreshToken('r-due', 'due', { expires_at: T }))
        await store.refreshTokens.put(refreshToken('r-live', 'live', { expires_at: T + 1 }))
        assert.equal(await store.grants.removeExpired(T), 2)
        assert.equal(await store.grants.get('due'), undefined)
        assert.equal(await store.grants.get('past'), undefined)
        assert.deepStrictEqual(await store.grants.get('live'), grant('live', { expires_at: T + 1 }))
        assert.equal(await store.refreshTokens.get('r-due'), undefined)
        assert.deepStrictEqual(await store.refreshTokens.get('r-live'), refreshToken('r-live', 'live', { expires_at: T + 1 }))
        assert.equal(await store.grants.removeExpired(T), 0)
      })
    })

    describe('refresh tokens', () => {
      async function withGrant(store: Store, grantChanges: Partial<GrantRecord> = {}): Promise<void> {
        await store.grants.put(grant('g', grantChanges))
      }

      test('round-trips with and without rotated_at', async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('r1', 'g'))
        await store.refreshTokens.put(refreshToken('r2', 'g', { rotated_at: T + 3 }))
        assert.deepStrictEqual(await store.refreshTokens.get('r1'), refreshToken('r1', 'g'))
        assert.deepStrictEqual(await store.refreshTokens.get('r2'), refreshToken('r2', 'g', { rotated_at: T + 3 }))
        assert.equal(await store.refreshTokens.get('nope'), undefined)
      })

      test('put refuses a token_hash already stored', async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('r1', 'g', { rotated_at: T }))
        await assert.rejects(store.refreshTokens.put(refreshToken('r1', 'g')))
        assert.deepStrictEqual(await store.refreshTokens.get('r1'), refreshToken('r1', 'g', { rotated_at: T }))
      })

      test('rotate marks the token rotated, returns it and stores the successor', async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('r1', 'g'))
        const successor = refreshToken('r2', 'g', { created_at: T + 10 })
        const rotated = refreshToken('r1', 'g', { rotated_at: T + 10 })
        assert.deepStrictEqual(await store.refreshTokens.rotate('r1', successor, T + 10), { kind: 'rotated', token: rotated })
        assert.deepStrictEqual(await store.refreshTokens.get('r1'), rotated)
        assert.deepStrictEqual(await store.refreshTokens.get('r2'), successor)
      })

      test('rotating a rotated token is reuse, and stores no successor', async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('r1', 'g'))
        await store.refreshTokens.rotate('r1', refreshToken('r2', 'g'), T + 10)
        assert.deepStrictEqual(await store.refreshTokens.rotate('r1', refreshToken('r3', 'g'), T + 20), {
          kind: 'reused',
          token: refreshToken('r1', 'g', { rotated_at: T + 10 }),
        })
        assert.equal(await store.refreshTokens.get('r3'), undefined)
      })

      test('a successor rotates in turn', async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('r1', 'g'))
        await store.refreshTokens.rotate('r1', refreshToken('r2', 'g'), T + 10)
        const outcome = await store.refreshTokens.rotate('r2', refreshToken('r3', 'g'), T + 20)
        assert.deepStrictEqual(outcome, { kind: 'rotated', token: refreshToken('r2', 'g', { rotated_at: T + 20 }) })
        assert.deepStrictEqual(await store.refreshTokens.get('r3'), refreshToken('r3', 'g'))
      })

      test('a token expiring at t is absent at t and rotates at t - 1', async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('at-t', 'g', { expires_at: T + 100 }))
        await store.refreshTokens.put(refreshToken('before-t', 'g', { expires_at: T + 100 }))
        assert.deepStrictEqual(await store.refreshTokens.rotate('at-t', refreshToken('s1', 'g'), T + 100), { kind: 'absent' })
        assert.deepStrictEqual(await store.refreshTokens.get('at-t'), refreshToken('at-t', 'g', { expires_at: T + 100 }))
        assert.equal(await store.refreshTokens.get('s1'), undefined)
        const outcome = await store.refreshTokens.rotate('before-t', refreshToken('s2', 'g'), T + 99)
        assert.equal(outcome.kind, 'rotated')
      })

      test('a rotated token past its expiry is absent', async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('r1', 'g', { expires_at: T + 100 }))
        await store.refreshTokens.rotate('r1', refreshToken('r2', 'g'), T + 50)
        assert.deepStrictEqual(await store.refreshTokens.rotate('r1', refreshToken('r3', 'g'), T + 100), { kind: 'absent' })
      })

      test('an unknown token is absent', async (store) => {
        await withGrant(store)
        assert.deepStrictEqual(await store.refreshTokens.rotate('nope', refreshToken('s', 'g'), T), { kind: 'absent' })
        assert.equal(await store.refreshTokens.get('s'), undefined)
      })

      test('a token of a revoked grant is absent, even one stored after the revocation', async (store) => {
        await withGrant(store)
        await store.grants.revoke('g', T + 1)
        await store.refreshTokens.put(refreshToken('late', 'g'))
        assert.deepStrictEqual(await store.refreshTokens.rotate('late', refreshToken('s', 'g'), T + 2), { kind: 'absent' })
        assert.equal(await store.refreshTokens.get('s'), undefined)
      })

      test('a token of an expired grant is absent', async (store) => {
        await withGrant(store, { expires_at: T + 10 })
        await store.refreshTokens.put(refreshToken('r1', 'g', { expires_at: T + 100 }))
        assert.deepStrictEqual(await store.refreshTokens.rotate('r1', refreshToken('s', 'g'), T + 10), { kind: 'absent' })
      })

      test(`${RACERS} concurrent rotations: one rotated, the rest reused, one successor stored`, async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('r1', 'g'))
        const outcomes = await race(RACERS, (i) => store.refreshTokens.rotate('r1', refreshToken(`s${i}`, 'g'), T + 10))
        assert.deepStrictEqual(countKinds(outcomes), { rotated: 1, reused: RACERS - 1 })
        const rotated = refreshToken('r1', 'g', { rotated_at: T + 10 })
        for (const outcome of outcomes) assert.deepStrictEqual(outcome, { kind: outcome.kind, token: rotated })
        const winner = outcomes.findIndex((o) => o.kind === 'rotated')
        for (let i = 0; i < RACERS; i++) {
          assert.deepStrictEqual(await store.refreshTokens.get(`s${i}`), i === winner ? refreshToken(`s${i}`, 'g') : undefined)
        }
      })

      test('a rotation whose successor cannot be stored changes nothing', async (store) => {
        await withGrant(store)
        await store.refreshTokens.put(refreshToken('r1', 'g'))
        await store.refreshTokens.put(refreshToken('taken', 'g', { created_at: T + 1 }))
        await assert.rejects(store.refreshTokens.rotate('r1', refreshToken('taken', 'g'), T + 10))
        assert.deepStrictEqual(await store.refreshTokens.get('r1'), refreshToken('r1', 'g'))
        assert.deepStrictEqual(await store.refreshTokens.get('taken'), refreshToken('taken', 'g', { created_at: T + 1 }))
        assert.equal((await store.refreshTokens.rotate('r1', refreshToken('r2', 'g'), T + 11)).kind, 'rotated')
      })
    })

    describe('logout outbox', () => {
      const lease = MINUTE

      test('enqueue stores notifications as given', async (store) => {
        const a = notification('n1')
        const b = notification('n2', { client_id: 'client-b', attempts: 2, next_attempt_at: T + 5, last_error: 'HTTP 503' })
        await store.outbox.enqueue([a, b])
        assert.deepStrictEqual(await store.outbox.get('n1'), a)
        assert.deepStrictEqual(await store.outbox.get('n2'), b)
        assert.equal(await store.outbox.get('nope'), undefined)
      })

      test('a second notification for the same client and sid is ignored', async (store) => {
        await store.outbox.enqueue([notification('n1', { sid: 's' })])
        await store.outbox.enqueue([notification('n2', { sid: 's', created_at: T + 1 })])
        await store.outbox.enqueue([notification('n3', { sid: 't' }), notification('n4', { sid: 't' })])
        await store.outbox.enqueue([notification('n5', { sid: 's', client_id: 'client-b' })])
        assert.deepStrictEqual(await store.outbox.get('n1'), notification('n1', { sid: 's' }))
        assert.equal(await store.outbox.get('n2'), undefined)
        assert.deepStrictEqual(await store.outbox.get('n3'), notification('n3', { sid: 't' }))
        assert.equal(await store.outbox.get('n4'), undefined)
        assert.deepStrictEqual(await store.outbox.get('n5'), notification('n5', { sid: 's', client_id: 'client-b' }))
        assert.deepStrictEqual(await store.outbox.counts(), { pending: 3, delivered: 0, gave_up: 0 })
      })

      test('enqueue of nothing is harmless', async (store) => {
        await store.outbox.enqueue([])
        assert.deepStrictEqual(await store.outbox.counts(), { pending: 0, delivered: 0, gave_up: 0 })
      })

      test('claimDue claims due notifications in next_attempt_at order, up to limit', async (store) => {
        await store.outbox.enqueue([
          notification('late', { next_attempt_at: T + 1 }),
          notification('second', { next_attempt_at: T - 5 }),
          notification('now', { next_attempt_at: T }),
          notification('first', { next_attempt_at: T - 10 }),
        ])
        const claimed = await store.outbox.claimDue('node-a', T, lease, 2)
        const asClaimed = (n: LogoutNotification, by: string) => ({ ...n, claimed_by: by, claim_expires_at: T + lease })
        assert.deepStrictEqual(claimed, [
          asClaimed(notification('first', { next_attempt_at: T - 10 }), 'node-a'),
          asClaimed(notification('second', { next_attempt_at: T - 5 }), 'node-a'),
        ])
        assert.deepStrictEqual(await store.outbox.get('first'), claimed[0])
        assert.deepStrictEqual(await store.outbox.claimDue('node-b', T, lease, 10), [asClaimed(notification('now', { next_attempt_at: T }), 'node-b')])
        assert.deepStrictEqual(await store.outbox.claimDue('node-b', T, lease, 10), [])
        assert.deepStrictEqual(await store.outbox.get('late'), notification('late', { next_attempt_at: T + 1 }))
      })

      test('a claim blocks other nodes until its lease ends', async (store) => {
        await store.outbox.enqueue([notification('n1')])
        assert.equal((await store.outbox.claimDue('node-a', T, lease, 10)).length, 1)
        assert.deepStrictEqual(await store.outbox.claimDue('node-b', T + lease - 1, lease, 10), [])
        const taken = await store.outbox.claimDue('node-b', T + lease, lease, 10)
        assert.deepStrictEqual(taken, [{ ...notification('n1'), claimed_by: 'node-b', claim_expires_at: T + 2 * lease }])
      })

      test('concurrent claimers never get the same notification', async (store) => {
        const ids = Array.from({ length: 12 }, (_, i) => `n${String(i).padStart(2, '0')}`)
        await store.outbox.enqueue(ids.map((id, i) => notification(id, { next_attempt_at: T - i })))
        const nodes = ['node-a', 'node-b']
        const batches = await race(8, (i) => store.outbox.claimDue(nodes[i % 2] ?? 'node-a', T, lease, 3))
        const claimed = batches.flat().map((n) => n.id)
        assert.deepStrictEqual([...claimed].sort(), ids)
        for (const [i, batch] of batches.entries()) {
          for (const n of batch) assert.equal((await store.outbox.get(n.id))?.claimed_by, nodes[i % 2])
        }
      })

      test('markDelivered by the holder counts the attempt, releases and never hands it out again', async (store) => {
        await store.outbox.enqueue([notification('n1')])
        await store.outbox.claimDue('node-a', T, lease, 10)
        await store.outbox.markDelivered('n1', 'node-a', T + 7)
        assert.deepStrictEqual(await store.outbox.get('n1'), notification('n1', { attempts: 1, delivered_at: T + 7 }))
        assert.deepStrictEqual(await store.outbox.claimDue('node-b', T + 10 * lease, lease, 10), [])
        assert.deepStrictEqual(await store.outbox.counts(), { pending: 0, delivered: 1, gave_up: 0 })
      })

      test('markFailed records the error and makes it due again at nextAttemptAt', async (store) => {
        await store.outbox.enqueue([notification('n1')])
        await store.outbox.claimDue('node-a', T, lease, 10)
        await store.outbox.markFailed('n1', 'node-a', 'HTTP 500', T + 30)
        const failed = notification('n1', { attempts: 1, last_error: 'HTTP 500', next_attempt_at: T + 30 })
        assert.deepStrictEqual(await store.outbox.get('n1'), failed)
        assert.deepStrictEqual(await store.outbox.claimDue('node-b', T + 29, lease, 10), [])
        assert.deepStrictEqual(await store.outbox.claimDue('node-b', T + 30, lease, 10), [
          { ...failed, claimed_by: 'node-b', claim_expires_at: T + 30 + lease },
        ])
        await store.outbox.markFailed('n1', 'node-b', 'timeout', T + 90)
        assert.deepStrictEqual(await store.outbox.get('n1'), notification('n1', { attempts: 2, last_error: 'timeout', next_attempt_at: T + 90 }))
      })

      test('markGaveUp records the error and ends the notification', async (store) => {
        await store.outbox.enqueue([notification('n1')])
        await store.outbox.claimDue('node-a', T, lease, 10)
        await store.outbox.markGaveUp('n1', 'node-a', 'network error', T + 8)
        assert.deepStrictEqual(await store.outbox.get('n1'), notification('n1', { attempts: 1, last_error: 'network error', gave_up_at: T + 8 }))
        assert.deepStrictEqual(await store.outbox.claimDue('node-a', T + 10 * lease, lease, 10), [])
        assert.deepStrictEqual(await store.outbox.counts(), { pending: 0, delivered: 0, gave_up: 1 })
      })

      test('marks by a node that does not hold the claim change nothing', async (store) => {
        await store.outbox.enqueue([notification('n1'), notification('n2', { sid: 'other', next_attempt_at: T + 1 })])
        await store.outbox.claimDue('node-a', T, lease, 10)
        const taken = await store.outbox.claimDue('node-b', T + lease, lease, 1)
        assert.equal(taken[0]?.id, 'n1')
        const held = { ...notification('n1'), claimed_by: 'node-b', claim_expires_at: T + 2 * lease }
        await store.outbox.markDelivered('n1', 'node-a', T + lease + 1)
        await store.outbox.markFailed('n1', 'node-a', 'HTTP 500', T + 5 * lease)
        await store.outbox.markGaveUp('n1', 'node-a', 'HTTP 500', T + lease + 1)
        assert.deepStrictEqual(await store.outbox.get('n1'), held)
        await store.outbox.markDelivered('n2', 'node-a', T + lease + 1)
        assert.deepStrictEqual(await store.outbox.get('n2'), notification('n2', { sid: 'other', next_attempt_at: T + 1 }))
      })

      test('releaseClaims frees only that node\'s claims, at once', async (store) => {
        await store.outbox.enqueue([notification('a1', { sid: 's1' }), notification('a2', { sid: 's2' }), notification('b1', { sid: 's3', next_attempt_at: T + 1 })])
        await store.outbox.claimDue('node-a', T, lease, 10)
        await store.outbox.claimDue('node-b', T + 1, lease, 10)
        await store.outbox.releaseClaims('node-a')
        assert.deepStrictEqual(await store.outbox.get('a1'), notification('a1', { sid: 's1' }))
        assert.deepStrictEqual(await store.outbox.get('b1'), { ...notification('b1', { sid: 's3', next_attempt_at: T + 1 }), claimed_by: 'node-b', claim_expires_at: T + 1 + lease })
        const reclaimed = await store.outbox.claimDue('node-c', T + 2, lease, 10)
        assert.deepStrictEqual(reclaimed.map((n) => n.id).sort(), ['a1', 'a2'])
      })

      test('counts follow the lifecycle', async (store) => {
        await store.outbox.enqueue(['n1', 'n2', 'n3', 'n4'].map((id) => notification(id, { sid: id })))
        await store.outbox.claimDue('node-a', T, lease, 10)
        await store.outbox.markDelivered('n1', 'node-a', T)
        await store.outbox.markGaveUp('n2', 'node-a', 'HTTP 410', T)
        await store.outbox.markFailed('n3', 'node-a', 'HTTP 502', T + 1)
        assert.deepStrictEqual(await store.outbox.counts(), { pending: 2, delivered: 1, gave_up: 1 })
      })
    })

    describe('audit', () => {
      test('recent returns events newest first, up to limit, exactly as appended', async (store) => {
        const events: AuditEvent[] = [
          { at: T, type: 'client.added', client_id: 'client-a' },
          { at: T + 1, type: 'session.started', subject: '555000000001', detail: { amr: ['SCA'], sid: 's1', nested: { n: 1, z: null } } },
          { at: T + 2, type: 'code.reused', client_id: 'client-a', detail: { grant_id: 'g' } },
          { at: T + 3, type: 'key.rotated' },
        ]
        for (const event of events) await store.audit.append(event)
        assert.deepStrictEqual(await store.audit.recent(10), [...events].reverse())
        assert.deepStrictEqual(await store.audit.recent(2), [events[3], events[2]])
      })

      test('recent of an empty log is empty', async (store) => {
        assert.deepStrictEqual(await store.audit.recent(5), [])
      })
    })

    describe('codes', () => {
      test('the first redemption returns the code exactly; later ones are reuse', async (store) => {
        await store.codes.save(code('c1'))
        assert.deepStrictEqual(await store.codes.redeem('c1', T), { kind: 'first', code: code('c1') })
        assert.deepStrictEqual(await store.codes.redeem('c1', T + 1), { kind: 'reused', code: code('c1') })
        assert.deepStrictEqual(await store.codes.redeem('c1', T + 2), { kind: 'reused', code: code('c1') })
      })

      test('an unknown code is absent', async (store) => {
        assert.deepStrictEqual(await store.codes.redeem('nope', T), { kind: 'absent' })
      })

      test('a code expiring at t is absent at t and first at t - 1', async (store) => {
        await store.codes.save(code('c1', { expires_at: T + 100 }))
        assert.deepStrictEqual(await store.codes.redeem('c1', T + 100), { kind: 'absent' })
        assert.deepStrictEqual(await store.codes.redeem('c1', T + 99), { kind: 'first', code: code('c1', { expires_at: T + 100 }) })
      })

      test('reuse is detected after expiry while the code is retained', async (store) => {
        await store.codes.save(code('c1', { expires_at: T + 100 }))
        await store.codes.redeem('c1', T + 99)
        assert.deepStrictEqual(await store.codes.redeem('c1', T + 100 + MINUTE), { kind: 'reused', code: code('c1', { expires_at: T + 100 }) })
        assert.equal(await store.codes.removeExpired(T + 100 + MINUTE, 10 * MINUTE), 0)
        assert.equal((await store.codes.redeem('c1', T + 100 + 2 * MINUTE)).kind, 'reused')
      })

      test(`${RACERS} concurrent redemptions: one first, the rest reused`, async (store) => {
        await store.codes.save(code('c1'))
        const outcomes = await race(RACERS, () => store.codes.redeem('c1', T))
        assert.deepStrictEqual(countKinds(outcomes), { first: 1, reused: RACERS - 1 })
        for (const outcome of outcomes) assert.deepStrictEqual(outcome, { kind: outcome.kind, code: code('c1') })
      })

      test('save refuses a code_hash already stored, so a redeemed code stays redeemed', async (store) => {
        await store.codes.save(code('c1'))
        await store.codes.redeem('c1', T)
        await assert.rejects(store.codes.save(code('c1', { client_id: 'client-b' })))
        assert.deepStrictEqual(await store.codes.redeem('c1', T + 1), { kind: 'reused', code: code('c1') })
      })

      test('removeExpired deletes codes past expires_at + retainMs', async (store) => {
        const retain = 5 * MINUTE
        await store.codes.save(code('due', { expires_at: T - retain }))
        await store.codes.save(code('past', { expires_at: T - retain - 1 }))
        await store.codes.save(code('kept', { expires_at: T - retain + 1 }))
        await store.codes.redeem('kept', T - retain)
        assert.equal(await store.codes.removeExpired(T, retain), 2)
        assert.deepStrictEqual(await store.codes.redeem('due', T - retain - 1), { kind: 'absent' })
        assert.deepStrictEqual(await store.codes.redeem('past', T - retain - 2), { kind: 'absent' })
        assert.equal((await store.codes.redeem('kept', T)).kind, 'reused')
        assert.equal(await store.codes.removeExpired(T, retain), 0)
      })

      test('returns fresh objects', async (store) => {
        await store.codes.save(code('c1'))
        const outcome = await store.codes.redeem('c1', T)
        assert.equal(outcome.kind, 'first')
        if (outcome.kind === 'first') outcome.code.payload['nonce'] = 'mutated'
        assert.deepStrictEqual(await store.codes.redeem('c1', T), { kind: 'reused', code: code('c1') })
      })
    })

    describe('sessions', () => {
      const bound = (hash: string) => session(hash, { selected_roleid: 'R8000', clients: ['client-a', 'client-b'], binding: 'card-1' })

      test('round-trips by hash and by sid, with and without optional fields', async (store) => {
        await store.sessions.create(bound('h1'))
        await store.sessions.create(session('h2'))
        assert.deepStrictEqual(await store.sessions.get('h1'), bound('h1'))
        assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), bound('h1'))
        assert.deepStrictEqual(await store.sessions.get('h2'), session('h2'))
        assert.deepStrictEqual(await store.sessions.getBySid('sid-h2'), session('h2'))
        assert.equal(await store.sessions.get('nope'), undefined)
        assert.equal(await store.sessions.getBySid('nope'), undefined)
      })

      test('touch moves last_seen_at and idle_expires_at forward, never back', async (store) => {
        await store.sessions.create(bound('h1'))
        assert.equal(await store.sessions.touch('h1', T + 10, T + 40 * MINUTE), true)
        const touched = { ...bound('h1'), last_seen_at: T + 10, idle_expires_at: T + 40 * MINUTE }
        assert.deepStrictEqual(await store.sessions.get('h1'), touched)
        assert.equal(await store.sessions.touch('h1', T + 5, T + 35 * MINUTE), true)
        assert.deepStrictEqual(await store.sessions.get('h1'), touched)
        assert.equal(await store.sessions.touch('nope', T, T), false)
      })

      test('addClient appends once, keeping order', async (store) => {
        await store.sessions.create(session('h1'))
        assert.equal(await store.sessions.addClient('h1', 'client-b'), true)
        assert.equal(await store.sessions.addClient('h1', 'client-a'), true)
        assert.equal(await store.sessions.addClient('h1', 'client-b'), true)
        assert.deepStrictEqual(await store.sessions.get('h1'), session('h1', { clients: ['client-b', 'client-a'] }))
        assert.equal(await store.sessions.addClient('nope', 'client-a'), false)
      })

      test('concurrent addClient calls lose no client', async (store) => {
        await store.sessions.create(session('h1'))
        const ids = Array.from({ length: 10 }, (_, i) => `client-${i}`)
        await Promise.all([...ids, ...ids].map((id) => store.sessions.addClient('h1', id)))
        assert.deepStrictEqual([...((await store.sessions.get('h1'))?.clients ?? [])].sort(), [...ids].sort())
      })

      test('setSelectedRole sets and replaces the role', async (store) => {
        await store.sessions.create(session('h1'))
        assert.equal(await store.sessions.setSelectedRole('h1', 'R1'), true)
        assert.equal(await store.sessions.setSelectedRole('h1', 'R2'), true)
        assert.deepStrictEqual(await store.sessions.get('h1'), session('h1', { selected_roleid: 'R2' }))
        assert.equal(await store.sessions.setSelectedRole('nope', 'R1'), false)
      })

      test('reauthenticate replaces the authentication facts and keeps sid, clients and role', async (store) => {
        await store.sessions.create(bound('h1'))
        const changes = { session_hash: 'h1', amr: ['PWD', 'OTP'], aal: 2 as const, auth_time: T + 50, last_seen_at: T + 50, expires_at: T + 99 * MINUTE, idle_expires_at: T + 45 * MINUTE, binding: 'card-2' }
        assert.equal(await store.sessions.reauthenticate('h1', changes), true)
        assert.deepStrictEqual(await store.sessions.get('h1'), { ...bound('h1'), ...changes })
        const { binding: _dropped, ...unbound } = changes
        assert.equal(await store.sessions.reauthenticate('h1', unbound), true)
        const { binding: _gone, ...expected } = { ...bound('h1'), ...unbound }
        assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), expected)
        assert.equal(await store.sessions.reauthenticate('nope', changes), false)
      })

      test('reauthenticate to a new hash moves the session: the old hash finds nothing, the sid and binding find the new one', async (store) => {
        await store.sessions.create(bound('h1'))
        const changes = { session_hash: 'h2', amr: ['PWD', 'OTP'], aal: 2 as const, auth_time: T + 50, last_seen_at: T + 50, expires_at: T + 99 * MINUTE, idle_expires_at: T + 45 * MINUTE, binding: 'card-1' }
        assert.equal(await store.sessions.reauthenticate('h1', changes), true)
        const moved = { ...bound('h1'), ...changes }
        assert.deepStrictEqual(await store.sessions.get('h2'), moved)
        assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), moved)
        assert.deepStrictEqual(await store.sessions.listByBinding('card-1'), [moved])
        assert.deepStrictEqual(await store.sessions.listExpired(T + 45 * MINUTE, 10), [moved])
        assert.equal(await store.sessions.get('h1'), undefined)
        assert.equal(await store.sessions.touch('h1', T + 60, T + 50 * MINUTE), false)
        assert.equal(await store.sessions.addClient('h1', 'client-z'), false)
        assert.equal(await store.sessions.setSelectedRole('h1', 'R1'), false)
        assert.equal(await store.sessions.reauthenticate('h1', { ...changes, session_hash: 'h3' }), false)
        assert.equal(await store.sessions.remove('h1'), undefined)
        assert.deepStrictEqual(await store.sessions.remove('h2'), moved)
        assert.equal(await store.sessions.getBySid('sid-h1'), undefined)
        assert.deepStrictEqual(await store.sessions.listByBinding('card-1'), [])
      })

      test(`${RACERS} concurrent reauthentications to new hashes: exactly one moves the session`, async (store) => {
        await store.sessions.create(bound('h1'))
        const changes = { amr: ['PWD', 'OTP'], aal: 2 as const, auth_time: T + 50, last_seen_at: T + 50, expires_at: T + 99 * MINUTE, idle_expires_at: T + 45 * MINUTE, binding: 'card-1' }
        const results = await race(RACERS, (i) => store.sessions.reauthenticate('h1', { ...changes, session_hash: `new-${i}` }))
        const winners = results.flatMap((moved, i) => (moved ? [i] : []))
        assert.equal(winners.length, 1)
        const moved = { ...bound('h1'), ...changes, session_hash: `new-${winners[0]}` }
        assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), moved)
        for (let i = 0; i < RACERS; i++) if (i !== winners[0]) assert.equal(await store.sessions.get(`new-${i}`), undefined)
        assert.deepStrictEqual(await store.sessions.listByBinding('card-1'), [moved])
      })

      test("reauthenticate refuses to move a session onto another session's hash, changing nothing", async (store) => {
        await store.sessions.create(bound('h1'))
        await store.sessions.create(session('h2'))
        const changes = { session_hash: 'h2', amr: ['PWD'], aal: 1 as const, auth_time: T + 50, last_seen_at: T + 50, expires_at: T + 99 * MINUTE, idle_expires_at: T + 45 * MINUTE }
        await assert.rejects(store.sessions.reauthenticate('h1', changes))
        assert.deepStrictEqual(await store.sessions.get('h1'), bound('h1'))
        assert.deepStrictEqual(await store.sessions.get('h2'), session('h2'))
        assert.deepStrictEqual(await store.sessions.getBySid('sid-h1'), bound('h1'))
      })

      test('remove returns the session once', async (store) => {
        await store.sessions.create(bound('h1'))
        assert.deepStrictEqual(await store.sessions.remove('h1'), bound('h1'))
        assert.equal(await store.sessions.remove('h1'), undefined)
        assert.equal(await store.sessions.get('h1'), undefined)
        assert.equal(await store.sessions.getBySid('sid-h1'), undefined)
      })

      test(`${RACERS} concurrent removes: exactly one gets the session`, async (store) => {
        await store.sessions.create(bound('h1'))
        const results = await race(RACERS, () => store.sessions.remove('h1'))
        const got = results.filter((r) => r !== undefined)
        assert.deepStrictEqual(got, [bound('h1')])
      })

      test('listByBinding returns the sessions bound to it', async (store) => {
        await store.sessions.create(session('h1', { binding: 'card-1' }))
        await store.sessions.create(session('h2', { binding: 'card-1', created_at: T + 1 }))
        await store.sessions.create(session('h3', { binding: 'card-2' }))
        await store.sessions.create(session('h4'))
        const listed = sortedBy(await store.sessions.listByBinding('card-1'), (s) => s.session_hash)
        assert.deepStrictEqual(listed, [session('h1', { binding: 'card-1' }), session('h2', { binding: 'card-1', created_at: T + 1 })])
        assert.deepStrictEqual(await store.sessions.listByBinding('card-9'), [])
      })

      test('listBySub returns a person\'s sessions, oldest first, for their whole life', async (store) => {
        const later = session('h2', { created_at: T + 1, binding: 'card-1' })
        await store.sessions.create(later)
        await store.sessions.create(session('h1'))
        await store.sessions.create(session('h3', { sub: '555000000002' }))
        assert.deepStrictEqual(await store.sessions.listBySub('555000000001'), [session('h1'), later])
        const changes = { session_hash: 'h4', amr: ['PWD'], aal: 1 as const, auth_time: T + 9, last_seen_at: T + 9, expires_at: T + 60 * MINUTE, idle_expires_at: T + 20 * MINUTE }
        assert.equal(await store.sessions.reauthenticate('h2', changes), true)
        const { binding: _unbound, ...reauthenticated } = { ...later, ...changes }
        assert.deepStrictEqual(await store.sessions.listBySub('555000000001'), [session('h1'), reauthenticated])
        await store.sessions.remove('h1')
        assert.deepStrictEqual(await store.sessions.listBySub('555000000001'), [reauthenticated])
        assert.deepStrictEqual(await store.sessions.listBySub('555000000009'), [])
      })

      test('listExpired lists sessions past either limit, soonest first, without deleting', async (store) => {
        const absolute = session('abs', { expires_at: T, idle_expires_at: T + MINUTE })
        const idle = session('idle', { expires_at: T + MINUTE, idle_expires_at: T - 2 })
        const older = session('older', { expires_at: T - 5, idle_expires_at: T - 5 })
        const live = session('live', { expires_at: T + 1, idle_expires_at: T + 1 })
        for (const s of [absolute, idle, older, live]) await store.sessions.create(s)
        assert.deepStrictEqual(await store.sessions.listExpired(T, 10), [older, idle, absolute])
        assert.deepStrictEqual(await store.sessions.listExpired(T, 2), [older, idle])
        assert.deepStrictEqual(await store.sessions.get('idle'), idle, 'listing deletes nothing')
        assert.deepStrictEqual(await store.sessions.listExpired(T - 6, 10), [])
      })

      test('returns fresh objects', async (store) => {
        await store.sessions.create(bound('h1'))
        const got = await store.sessions.get('h1')
        got?.clients.push('client-z')
        got?.amr.push('X')
        assert.deepStrictEqual(await store.sessions.get('h1'), bound('h1'))
      })
    })

    describe('interactions', () => {
      test('get returns the interaction until it expires', async (store) => {
        await store.interactions.put(interaction('i1', { expires_at: T + 100 }))
        assert.deepStrictEqual(await store.interactions.get('i1', T + 99), interaction('i1', { expires_at: T + 100 }))
        assert.equal(await store.interactions.get('i1', T + 100), undefined)
        assert.equal(await store.interactions.get('nope', T), undefined)
      })

      test('put replaces by id', async (store) => {
        await store.interactions.put(interaction('i1'))
        const next = interaction('i1', { expires_at: T + 20 * MINUTE, payload: { step: 2, chosen: ['a', 'b'] } })
        await store.interactions.put(next)
        assert.deepStrictEqual(await store.interactions.get('i1', T), next)
      })

      test('remove is true once, then false', async (store) => {
        await store.interactions.put(interaction('i1'))
        assert.equal(await store.interactions.remove('i1'), true)
        assert.equal(await store.interactions.remove('i1'), false)
        assert.equal(await store.interactions.get('i1', T), undefined)
      })

      test('removeExpired deletes interactions with expires_at <= now', async (store) => {
        await store.interactions.put(interaction('due', { expires_at: T }))
        await store.interactions.put(interaction('past', { expires_at: T - 1 }))
        await store.interactions.put(interaction('live', { expires_at: T + 1 }))
        assert.equal(await store.interactions.removeExpired(T), 2)
        assert.deepStrictEqual(await store.interactions.get('live', T), interaction('live', { expires_at: T + 1 }))
        assert.equal(await store.interactions.removeExpired(T), 0)
      })
    })

    describe('replay cache', () => {
      test('markUsed is true the first time and false while recorded', async (store) => {
        assert.equal(await store.replay.has('jti:1', T), false)
        assert.equal(await store.replay.markUsed('jti:1', T + 100, T), true)
        assert.equal(await store.replay.markUsed('jti:1', T + 500, T + 99), false)
        assert.equal(await store.replay.has('jti:1', T + 99), true)
        assert.equal(await store.replay.has('jti:2', T), false)
      })

      test('a marker lasts until expiresAt; the key may then be recorded afresh', async (store) => {
        await store.replay.markUsed('jti:1', T + 100, T)
        assert.equal(await store.replay.has('jti:1', T + 100), false)
        assert.equal(await store.replay.markUsed('jti:1', T + 300, T + 100), true)
        assert.equal(await store.replay.has('jti:1', T + 299), true)
        assert.equal(await store.replay.markUsed('jti:1', T + 900, T + 299), false)
      })

      test(`${RACERS} concurrent markUsed: exactly one true`, async (store) => {
        const results = await race(RACERS, () => store.replay.markUsed('jti:race', T + 100, T))
        assert.equal(results.filter((r) => r).length, 1)
      })

      test('removeExpired deletes markers with expiresAt <= now', async (store) => {
        await store.replay.markUsed('due', T, T - 10)
        await store.replay.markUsed('past', T - 1, T - 10)
        await store.replay.markUsed('live', T + 1, T - 10)
        assert.equal(await store.replay.removeExpired(T), 2)
        assert.equal(await store.replay.has('live', T), true)
        assert.equal(await store.replay.removeExpired(T), 0)
      })
    })

    describe('rate counters', () => {
      /** Where the minute-long window holding T ends: the next one starts there. */
      const windowEnd = rateWindowEnd(MINUTE, T)

      test('hit counts the hits on a key in its window, this one included; keys count apart', async (store) => {
        assert.equal(await store.rates.hit('user-ip-1', MINUTE, windowEnd - MINUTE), 1)
        assert.equal(await store.rates.hit('user-ip-1', MINUTE, T), 2)
        assert.equal(await store.rates.hit('user-ip-2', MINUTE, T), 1)
        assert.equal(await store.rates.hit('user-ip-1', MINUTE, windowEnd - 1), 3)
      })

      test('windows start at multiples of windowMs: the first hit in the next window is 1', async (store) => {
        await store.rates.hit('k', MINUTE, T)
        await store.rates.hit('k', MINUTE, T)
        assert.equal(await store.rates.hit('k', MINUTE, windowEnd), 1)
        assert.equal(await store.rates.hit('k', MINUTE, windowEnd + MINUTE - 1), 2)
        assert.equal(await store.rates.hit('k', MINUTE, windowEnd + MINUTE), 1)
      })

      test(`${RACERS} concurrent hits on one key in one window get the counts 1 to ${RACERS}, each once`, async (store) => {
        const counts = await race(RACERS, () => store.rates.hit('race', MINUTE, T))
        assert.deepStrictEqual(
          [...counts].sort((a, b) => a - b),
          Array.from({ length: RACERS }, (_, i) => i + 1),
        )
        assert.equal(await store.rates.hit('race', MINUTE, T), RACERS + 1)
      })

      test('peek reads the hits on a key in its window without counting one; 0 for none', async (store) => {
        assert.equal(await store.rates.peek('peeked', MINUTE, T), 0)
        await store.rates.hit('peeked', MINUTE, T)
        await store.rates.hit('peeked', MINUTE, T)
        assert.equal(await store.rates.peek('peeked', MINUTE, windowEnd - 1), 2)
        assert.equal(await store.rates.peek('peeked', MINUTE, T), 2, 'peeking counted nothing')
        assert.equal(await store.rates.peek('peeked', MINUTE, windowEnd), 0, 'the next window has none')
        assert.equal(await store.rates.hit('peeked', MINUTE, T), 3)
        await assert.rejects(store.rates.peek('peeked', 0, T), RangeError)
      })

      test('a window that is not a positive whole number of milliseconds is refused and counts nothing', async (store) => {
        for (const windowMs of [0, -MINUTE, 1.5, Number.NaN]) await assert.rejects(store.rates.hit('k', windowMs, T), RangeError)
        assert.equal(await store.rates.hit('k', MINUTE, T), 1)
      })

      test('removeExpired leaves the counters of windows that have not ended', async (store) => {
        await store.rates.hit('ended', MINUTE, windowEnd - MINUTE)
        await store.rates.hit('live', MINUTE, windowEnd)
        const removed = await store.rates.removeExpired(windowEnd)
        // SQL deletes the ended window's row; Redis has already let such a key expire by itself.
        assert.ok(removed === 0 || removed === 1, `removed ${removed}`)
        assert.equal(await store.rates.hit('live', MINUTE, windowEnd + 1), 2)
        assert.equal(await store.rates.removeExpired(windowEnd), 0)
      })
    })

    runUnitOfWorkConformance(open)

    describe('store', () => {
      test('ping is true for an open store', async (store) => {
        assert.equal(await store.ping(), true)
      })

      test('after close, ping is false and close may be called again', async (store) => {
        await store.close()
        assert.equal(await store.ping(), false)
        await store.close()
      })
    })
  })
}
