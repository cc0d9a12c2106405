/**
 * The platform's token endpoint on the service server, over a real store (SQLite in memory, or
 * PostgreSQL in a schema of its own), with a clock the tests move, applications registered as `careid apps add` registers
 * them, a key set standing in for CIS2's, and the JWTs the tests send: client assertions signed
 * with an application's key, CIS2 ID tokens signed with CIS2's.
 */
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { buildServiceServer } from '@careid/http'
import { sha256 } from '@careid/oidc'
import type { ApiGrantUser, Json, Store } from '@careid/ports'
import { openPostgresStore } from '@careid/store/postgres'
import { openSqliteStore } from '@careid/store/sqlite'
import pg from 'pg'
import { ensurePostgres } from '../../../store/test/support/services.ts'
import { createPlatformTokenRoute, registerApplication } from '../../src/index.ts'
import type { PlatformCodePayload } from '../../src/platform_code.ts'

export const tokenUrl = 'https://int.api.service.nhs.uk/oauth2/token'
export const cis2Issuer = 'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'
export const callback = 'https://ward.example/callback'

export const pdsAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
export const pdsAal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'
export const pdsLevel3 = 'urn:nhsd:apim:app:level3:personal-demographics-service'
export const sampleAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api'

export const tokenExchangeGrantType = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const idTokenType = 'urn:ietf:params:oauth:token-type:id_token'
export const jwtBearer = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface KeyPair {
  privateKey: CryptoKey
  jwk: JWK
  kid: string
}

export async function keyPair(alg: 'RS512' | 'RS256', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, kid }
}

/** A registered application, with its secret and the private key of its JWKS. */
export interface TestApplication {
  apiKey: string
  secret: string
  key: KeyPair
}

export interface Response {
  status: number
  headers: Record<string, unknown>
  body: Record<string, unknown>
}

export interface Platform {
  store: Store
  server: FastifyInstance
  clock: { now: number }
  cis2Key: KeyPair
  /** Registers an application (keys inline unless `jwks_uri` is given) and stores it. */
  application(scopes: string[], options?: { jwks_uri?: string; withoutKeys?: boolean }): Promise<TestApplication>
  /** POSTs a form to /oauth2/token (undefined fields are left out). */
  post(fields: Record<string, string | undefined>, contentType?: string): Promise<Response>
  close(): Promise<void>
}

/** A store the platform runs on, and how to be rid of it. */
export interface OpenedStore {
  store: Store
  dispose(): Promise<void>
}

export async function openSqlite(): Promise<OpenedStore> {
  const store = await openSqliteStore({ path: ':memory:' })
  return { store, dispose: () => store.close() }
}

/** Why PostgreSQL cannot be used here, or undefined when it can. */
export async function postgresUnavailable(): Promise<string | undefined> {
  const postgres = await ensurePostgres()
  return postgres.available ? undefined : postgres.reason
}

/** A PostgreSQL store in a schema of its own, dropped on dispose. */
export async function openPostgres(): Promise<OpenedStore> {
  const postgres = await ensurePostgres()
  if (!postgres.available) throw new Error(postgres.reason)
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
}

/** The platform in `environment`, trusting CIS2's test key set (or the keys given), on SQLite unless a store is given. */
export async function startPlatform(environment = 'int', cis2Keys?: JWTVerifyGetKey, opened?: OpenedStore): Promise<Platform> {
  const { store, dispose } = opened ?? (await openSqlite())
  const clock = { now: Date.now() }
  const cis2Key = await keyPair('RS256', 'cis2-key-1')
  const keys = cis2Keys ?? createLocalJWKSet({ keys: [cis2Key.jwk] })
  const route = createPlatformTokenRoute({ store, now: () => clock.now, tokenUrl, environment, cis2: { issuer: cis2Issuer, keys } })
  const server = await buildServiceServer({ routes: [route], baseUrl: 'https://int.api.service.nhs.uk/' })
  return {
    store,
    server,
    clock,
    cis2Key,
    async application(scopes, options = {}) {
      const key = await keyPair('RS512', `app-key-${randomUUID()}`)
      const keys = options.withoutKeys === true ? {} : options.jwks_uri !== undefined ? { jwks_uri: options.jwks_uri } : { jwks: { keys: [key.jwk] } }
      const { application, secret } = registerApplication({ name: 'Ward rounds', callback_urls: [callback], scopes, ...keys }, clock.now)
      await store.apps.put(application)
      return { apiKey: application.api_key, secret, key }
    },
    async post(fields, contentType = 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams()
      for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.append(name, value)
      const response = await server.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': contentType }, payload: form.toString() })
      return { status: response.statusCode, headers: response.headers, body: response.json() as Record<string, unknown> }
    },
    async close() {
      await server.close()
      await dispose()
    },
  }
}

/** A client assertion; `header` and `claims` replace (or, as undefined, remove) the defaults. */
export async function clientAssertion(
  app: TestApplication,
  nowMs: number,
  options: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: CryptoKey } = {},
): Promise<string> {
  const claims: Record<string, unknown> = { iss: app.apiKey, sub: app.apiKey, aud: tokenUrl, jti: randomUUID(), exp: Math.floor(nowMs / 1000) + 300, ...options.claims }
  const header: Record<string, unknown> = { alg: 'RS512', typ: 'JWT', kid: app.key.kid, ...options.header }
  return sign(claims, header, options.key ?? app.key.privateKey)
}

/** Signs `claims` as given, with `header` as given (members set to undefined left out). */
export async function sign(claims: Record<string, unknown>, header: Record<string, unknown>, key: CryptoKey): Promise<string> {
  const defined = (record: Record<string, unknown>) => Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined))
  return new SignJWT(defined(claims) as JWTPayload).setProtectedHeader(defined(header) as { alg: string }).sign(key)
}

/** The claims of a CIS2 ID token for a worker who signed in at AAL3. */
export function idTokenClaims(nowMs: number, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(nowMs / 1000)
  return {
    iss: cis2Issuer,
    sub: '910000000001',
    aud: 'ward-rounds-cis2-client',
    sid: 'cis2-session-1',
    acr: 'AAL3_ANY',
    authentication_assurance_level: '3',
    auth_time: now - 30,
    iat: now - 30,
    exp: now + 3600,
    selected_roleid: '555021935107',
    ...changes,
  }
}

export async function idToken(platform: Platform, changes: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key?: CryptoKey): Promise<string> {
  return sign(idTokenClaims(platform.clock.now, changes), { alg: 'RS256', typ: 'JWT', kid: platform.cis2Key.kid, ...header }, key ?? platform.cis2Key.privateKey)
}

/** The token exchange's form, with a fresh assertion and a valid ID token unless replaced. */
export async function tokenExchangeForm(platform: Platform, app: TestApplication, changes: Record<string, string | undefined> = {}): Promise<Record<string, string | undefined>> {
  return {
    grant_type: tokenExchangeGrantType,
    subject_token_type: idTokenType,
    subject_token: await idToken(platform),
    client_assertion_type: jwtBearer,
    client_assertion: await clientAssertion(app, platform.clock.now),
    ...changes,
  }
}

export async function clientCredentialsForm(platform: Platform, app: TestApplication, changes: Record<string, string | undefined> = {}): Promise<Record<string, string | undefined>> {
  return { grant_type: 'client_credentials', client_assertion_type: jwtBearer, client_assertion: await clientAssertion(app, platform.clock.now), ...changes }
}

export const worker: ApiGrantUser = { sub: '910000000001', sid: 'cis2-session-1', aal: 3, acr: 'AAL3_ANY', selected_roleid: '555021935107', role_ids: ['555021935107', '555021936108'] }

/** Stores a platform code as `/callback` makes it, and returns the code. */
export async function platformCode(platform: Platform, app: TestApplication, changes: Partial<PlatformCodePayload> = {}, redirectUri = callback): Promise<string> {
  const code = randomUUID()
  const payload: PlatformCodePayload = { scope: pdsAal3, user: worker, cis2_access_token_sealed: 'sealed-cis2-access-token', authenticated_at: platform.clock.now - 20_000, ...changes }
  await platform.store.codes.save({ code_hash: sha256(code), client_id: app.apiKey, redirect_uri: redirectUri, grant_id: randomUUID(), expires_at: platform.clock.now + 60_000, payload: payload as unknown as { [key: string]: Json } })
  return code
}

export function codeForm(app: TestApplication, code: string | undefined, changes: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { grant_type: 'authorization_code', code, redirect_uri: callback, client_id: app.apiKey, client_secret: app.secret, ...changes }
}

export function refreshForm(app: TestApplication, refreshToken: string | undefined, changes: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: app.apiKey, client_secret: app.secret, ...changes }
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The platform's refusal: exactly this status, error and text, and a message_id. */
export function assertRefusal(response: Response, status: number, error: string, description: string): void {
  const { message_id: messageId, ...rest } = response.body
  assert.deepStrictEqual({ status: response.status, ...rest }, { status, error, error_description: description })
  assert.match(String(messageId), uuid)
}

/** The grant a token belongs to, if the token is live (access) or live and unused (refresh). */
export async function grantOfAccess(platform: Platform, accessToken: string) {
  return platform.store.apiGrants.findAccess(sha256(accessToken), platform.clock.now)
}
