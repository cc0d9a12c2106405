/**
 * The API Platform's OAuth service on nodes of its own (`careid start --only api`) beside a provider
 * node (`--only provider`), on one PostgreSQL and one Redis with one key-encryption key: the
 * platform-only node registers its client at the provider with the secret every node derives from
 * that key, takes the whole combined journey, and hears the provider's back-channel logout.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { registerApplication } from '@careid/apim'
import { randomToken, sha256 } from '@careid/oidc'
import type { ApiGrantRecord } from '@careid/ports'
import { apiPlatformClientId } from '../../packages/cli/src/api_platform.ts'
import type { PlatformCodePayload } from '@careid/apim'
import { resolveSettings } from '../../packages/cli/src/settings.ts'
import { startApiNode, type RunningApiNode } from '../../packages/cli/src/start.ts'
import { Browser, form } from '../support/browser.ts'
import { freePort, startTestCareid, type TestCareid } from '../support/careid.ts'
import { person, password } from '../support/demo_people.ts'
import { signIn } from '../support/journey.ts'
import { privateServersMissing, startPrivatePostgres, startPrivateRedis, type PrivateServer } from '../support/private_servers.ts'

const callback = 'https://app.example.test/callback'
const aal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'

const missing = await privateServersMissing()
if (missing !== undefined) {
  it('the API Platform on nodes of its own, on PostgreSQL and Redis', { skip: missing }, () => {})
} else {
  describe('the API Platform on nodes of its own, on PostgreSQL and Redis', { timeout: 120_000 }, () => {
    let postgres: PrivateServer
    let redis: PrivateServer
    let provider: TestCareid
    let api: RunningApiNode
    const apiDataDir = mkdtempSync(join(tmpdir(), 'careid-api-node-'))

    before(async () => {
      postgres = await startPrivatePostgres()
      redis = await startPrivateRedis()
      const env = { DATABASE_URL: postgres.url, REDIS_URL: redis.url, CAREID_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') }
      provider = await startTestCareid({ env, settings: { only: 'provider' } })
      const settings = resolveSettings(
        { port: new URL(provider.origin).port, apiPort: String(await freePort()), host: 'localhost', dataDir: apiDataDir, issuer: provider.issuer, logLevel: 'silent', only: 'api' },
        env,
      )
      api = await startApiNode(settings)
    })

    after(async () => {
      await api?.stop()
      await provider?.close()
      await postgres?.discard()
      await redis?.discard()
      rmSync(apiDataDir, { recursive: true, force: true })
    })

    it('the provider node serves no platform; the platform node registered its client with the secret both derive from the shared key', async () => {
      assert.equal(provider.api, undefined)
      const client = await provider.context.store.clients.get(apiPlatformClientId)
      assert.ok(client)
      assert.deepEqual(client.redirect_uris, [`${api.api.baseUrl}/oauth2/callback`])
      assert.equal(client.backchannel_logout_uri, `${api.api.baseUrl}/oauth2/backchannel_logout`)
      const label = 'api-platform/cis2-client-secret'
      assert.equal(provider.context.deriveSecret(label), api.context.deriveSecret(label))
      assert.equal(client.client_secret_hash, sha256(provider.context.deriveSecret(label)))
    })

    it('the combined journey through the platform node, and the provider\'s back-channel logout revoking its grant', async () => {
      const { application } = registerApplication({ name: 'Clinical app', callback_urls: [callback], scopes: [aal2] }, Date.now())
      await provider.context.store.apps.put(application)
      const browser = new Browser(provider.origin)
      const query = new URLSearchParams({ response_type: 'code', client_id: application.api_key, redirect_uri: callback, state: 's-1', acr_values: 'AAL2_TOTP' })
      const start = await browser.fetch(`${api.api.baseUrl}/oauth2/authorize?${query}`)
      assert.equal(start.status, 302)
      const p = person('dr.patel')
      const { location } = await signIn(browser, start.headers.get('location') as string, { username: p.username, password: password(p), method: 'totp', code: () => provider.totp(p.uid) })
      assert.ok(location.startsWith(`${api.api.baseUrl}/oauth2/callback?`))
      const back = await browser.fetch(location)
      assert.equal(back.status, 302)
      const appRedirect = new URL(back.headers.get('location') as string)
      assert.equal(appRedirect.searchParams.get('state'), 's-1')
      const redeemed = await api.context.store.codes.redeem(sha256(appRedirect.searchParams.get('code') as string), Date.now())
      assert.ok(redeemed.kind === 'first')
      const payload = redeemed.code.payload as unknown as PlatformCodePayload
      assert.equal(payload.user.sub, p.uid)
      assert.equal(payload.scope, aal2)

      const now = Date.now()
      const accessToken = randomToken(32)
      const grant: ApiGrantRecord = {
        grant_id: redeemed.code.grant_id,
        api_key: application.api_key,
        pattern: 'combined',
        scope: payload.scope,
        user: payload.user,
        cis2_access_token_sealed: payload.cis2_access_token_sealed,
        authenticated_at: payload.authenticated_at,
        refresh_until: payload.authenticated_at + 12 * 3600_000,
        created_at: now,
        expires_at: now + 12 * 3600_000,
      }
      await api.context.store.apiGrants.issue(grant, [{ token_hash: sha256(accessToken), grant_id: grant.grant_id, kind: 'access', refresh_count: 0, created_at: now, expires_at: now + 599_000 }])
      const userinfo = await fetch(`${api.api.baseUrl}/oauth2/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
      assert.equal(userinfo.status, 200)
      assert.equal(((await userinfo.json()) as { sub: string }).sub, p.uid)

      const out = await browser.go(`${provider.issuer}/connect/endSession`)
      assert.ok(out.page)
      const confirm = form(out.page, '/endSession')
      assert.equal((await browser.go(confirm.action, { form: confirm.fields })).page?.status, 200)
      const deadline = Date.now() + 15_000
      while ((await api.context.store.apiGrants.findAccess(sha256(accessToken), Date.now())) !== undefined) {
        assert.ok(Date.now() < deadline, 'the grant was revoked within 15 s')
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      assert.equal((await fetch(`${api.api.baseUrl}/oauth2/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })).status, 401)
    })
  })
}
