/**
 * The API Platform's OAuth service for a test: its routes on the service server over real HTTP, an
 * in-memory store, and a CIS2 double (or the settings of another CIS2).
 */
import type { FastifyInstance } from 'fastify'
import { buildServiceServer } from '@careid/http'
import { createSecretBox, sha256 } from '@careid/oidc'
import type { ApiGrantPattern, ApiGrantRecord, ApplicationRecord, SecretBox, Store } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import { randomBytes } from 'node:crypto'
import { registerApplication } from '../../src/application.ts'
import { createCis2Provider } from '../../src/oauth/cis2_provider.ts'
import { apiPlatformRoutes } from '../../src/oauth/platform_routes.ts'
import { startCis2Double, type Cis2Double } from './cis2_double.ts'

export const callback = 'https://app.example.test/callback'
export const aal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
export const aal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'
export const statusApiKey = 'monitoring-key-0123456789'

export interface TestPlatform {
  origin: string
  store: Store
  secrets: SecretBox
  cis2: Cis2Double
  app: FastifyInstance
  addApp(scopes: string[]): Promise<ApplicationRecord>
  close(): Promise<void>
}

export async function startTestPlatform(): Promise<TestPlatform> {
  const store = await openSqliteStore({ path: ':memory:' })
  const secrets = createSecretBox(randomBytes(32))
  const cis2 = await startCis2Double()
  const baseUrl = 'http://127.0.0.1'
  const routes = apiPlatformRoutes({
    store,
    secrets,
    cis2: createCis2Provider(cis2.settings),
    baseUrl,
    now: Date.now,
    release: { version: '0.1.0', revision: '0.1.0', releaseId: 'careid-0.1.0', commitId: 'unknown' },
    statusApiKey,
  })
  const app = await buildServiceServer({ routes, baseUrl })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    origin,
    store,
    secrets,
    cis2,
    app,
    async addApp(scopes) {
      const { application } = registerApplication({ name: 'Clinical app', callback_urls: [callback], scopes }, Date.now())
      await store.apps.put(application)
      return application
    },
    async close() {
      await app.close()
      await cis2.close()
      await store.close()
    },
  }
}

/** A JSON error body, with its message_id checked present and then left out. */
export async function errorOf(response: Response): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>
  if (typeof body.message_id !== 'string' || body.message_id === '') throw new Error(`no message_id in ${JSON.stringify(body)}`)
  const { message_id: _, ...rest } = body
  return rest
}

/** A live grant of `pattern` for `sid` with one access token per entry of `tokens` (as a refresh leaves two live). */
export async function issueGrant(
  platform: TestPlatform,
  options: { apiKey: string; pattern: ApiGrantPattern; sid?: string; tokens: string[]; accessExpiresAt?: number },
): Promise<ApiGrantRecord> {
  const now = Date.now()
  const grant: ApiGrantRecord = {
    grant_id: randomBytes(12).toString('base64url'),
    api_key: options.apiKey,
    pattern: options.pattern,
    scope: options.pattern === 'client_credentials' ? 'urn:nhsd:apim:app:level3:personal-demographics-service' : aal3,
    authenticated_at: now,
    refresh_until: now + 12 * 3600_000,
    created_at: now,
    expires_at: now + 12 * 3600_000,
  }
  if (options.pattern !== 'client_credentials') grant.user = { sub: '555000000001', sid: options.sid ?? 'cis2-session-1', aal: 3, acr: 'AAL3_ANY' }
  if (options.pattern === 'combined') grant.cis2_access_token_sealed = platform.secrets.seal('cis2-access-token')
  await platform.store.apiGrants.issue(
    grant,
    options.tokens.map((token, i) => ({ token_hash: sha256(token), grant_id: grant.grant_id, kind: 'access' as const, refresh_count: i, created_at: now, expires_at: options.accessExpiresAt ?? now + 599_000 })),
  )
  return grant
}
