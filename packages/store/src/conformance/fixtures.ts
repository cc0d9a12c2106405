/**
 * What every part of the storage conformance suite shares: the subject a test runs against, how a
 * test is registered, a fixed clock, and record builders that fill every field so round trips are
 * checked in full.
 */
import { it } from 'node:test'
import type {
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

/** A store for one test, and how to dispose of it (close it, drop its data). */
export interface ConformanceSubject {
  store: Store
  cleanup(): Promise<void>
}

/** An arbitrary fixed time, so every test controls the clock. */
export const T = 1_700_000_000_000
export const MINUTE = 60_000
/** How many concurrent callers race for one single-use item. */
export const RACERS = 20

export function client(id: string, changes: Partial<ClientRecord> = {}): ClientRecord {
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

export function fullClient(id: string): ClientRecord {
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

export function signingKey(kid: string, state: SigningKeyRecord['state'], changes: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
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

export function credential(id: string, uid: string, changes: Partial<CredentialRecord> = {}): CredentialRecord {
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

export function card(serial: string, uid: string, changes: Partial<CardRecord> = {}): CardRecord {
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

export function grant(id: string, changes: Partial<GrantRecord> = {}): GrantRecord {
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

export function refreshToken(hash: string, grantId: string, changes: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return { token_hash: hash, grant_id: grantId, client_id: 'client-a', created_at: T, expires_at: T + 30 * MINUTE, ...changes }
}

export function code(hash: string, changes: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
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

export function session(hash: string, changes: Partial<SessionRecord> = {}): SessionRecord {
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

export function notification(id: string, changes: Partial<LogoutNotification> = {}): LogoutNotification {
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

export function interaction(id: string, changes: Partial<InteractionRecord> = {}): InteractionRecord {
  return { id, expires_at: T + 10 * MINUTE, payload: { client_id: 'client-a', scopes: ['openid'], step: 1, prompt: null }, ...changes }
}

/** Starts `n` calls together and waits for them all. */
export function race<R>(n: number, call: (i: number) => Promise<R>): Promise<R[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => call(i)))
}

export function countKinds(outcomes: { kind: string }[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const { kind } of outcomes) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/** Where the contract promises no order, tests compare in a fixed one. */
export function sortedBy<R>(items: R[], key: (item: R) => string): R[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

/** Registers one conformance test: `body` gets a fresh store, disposed of when the test ends. */
export type StoreTest = (title: string, body: (store: Store) => Promise<void>) => void

/** The `StoreTest` for an adapter: `open` is called once per test and must return an empty, migrated store. */
export function storeTest(open: () => Promise<ConformanceSubject>): StoreTest {
  return (title, body) => {
    it(title, async () => {
      const { store, cleanup } = await open()
      try {
        await body(store)
      } finally {
        await cleanup()
      }
    })
  }
}
