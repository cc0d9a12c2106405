/**
 * The API Platform's combined pattern in the browser (cis2.md 6.2 steps 1 to 3, 6 and 7), over real
 * HTTP: the application sends the browser to the platform's `/oauth2/authorize` (its own origin),
 * the platform to Careid's provider as CIS2, the worker signs in there, the provider returns to the
 * platform's `/oauth2/callback`, and the platform to the application with its own code and the
 * application's state. Then `/oauth2/userinfo` is CIS2's userinfo through the platform, and the
 * worker signing out at the provider reaches the platform as a back-channel logout that revokes
 * the platform's grant.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { registerApplication } from '@careid/apim'
import { randomToken, sha256 } from '@careid/oidc'
import type { ApiGrantRecord, ApplicationRecord } from '@careid/ports'
import { apiPlatformClientId } from '../../packages/cli/src/api_platform.ts'
import type { PlatformCodePayload } from '@careid/apim'
import { Browser, form } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { person, password } from '../support/demo_people.ts'
import { signIn } from '../support/journey.ts'

const callback = 'https://app.example.test/callback'
const aal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
const aal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'

async function addApp(careid: TestCareid, scopes: string[]): Promise<ApplicationRecord> {
  const { application } = registerApplication({ name: 'Clinical app', callback_urls: [callback], scopes }, Date.now())
  await careid.context.store.apps.put(application)
  return application
}

function authorizeUrl(careid: TestCareid, app: ApplicationRecord, params: Record<string, string> = {}): string {
  const query = new URLSearchParams({ response_type: 'code', client_id: app.api_key, redirect_uri: callback, state: 'app-state-1', acr_values: 'AAL2_TOTP', ...params })
  return `${careid.apiOrigin}/oauth2/authorize?${query}`
}

/** The worker signs in with password and authenticator app; returns where the platform finally sent the browser. */
async function journey(careid: TestCareid, browser: Browser, url: string, username: string): Promise<{ cis2Redirect: URL; platformCallback: URL; appRedirect: Response }> {
  const start = await browser.fetch(url)
  assert.equal(start.status, 302)
  const cis2Redirect = new URL(start.headers.get('location') as string)
  const p = person(username)
  const { location } = await signIn(browser, cis2Redirect.href, { username: p.username, password: password(p), method: 'totp', code: () => careid.totp(p.uid) })
  const platformCallback = new URL(location)
  const appRedirect = await browser.fetch(platformCallback.href)
  return { cis2Redirect, platformCallback, appRedirect }
}

describe('the API Platform combined pattern, in the browser', () => {
  let careid: TestCareid
  before(async () => {
    careid = await startTestCareid()
  })
  after(async () => careid.close())

  it('registers the platform as a confidential CIS2 client of the provider, with its callback and back-channel logout URIs', async () => {
    const client = await careid.context.store.clients.get(apiPlatformClientId)
    assert.ok(client)
    assert.deepEqual(client.redirect_uris, [`${careid.apiOrigin}/oauth2/callback`])
    assert.equal(client.backchannel_logout_uri, `${careid.apiOrigin}/oauth2/backchannel_logout`)
    assert.equal(client.token_endpoint_auth_method, 'client_secret_post')
    assert.equal(client.client_secret_hash, sha256(careid.context.deriveSecret('api-platform/cis2-client-secret')))
  })

  it('authorize → CIS2 sign-in → callback → the application gets the platform code and its state; the stored code holds the grant to be', async () => {
    const app = await addApp(careid, [aal3, aal2])
    const browser = new Browser(careid.origin)
    const { cis2Redirect, platformCallback, appRedirect } = await journey(careid, browser, authorizeUrl(careid, app), 'nurse.jones')

    // Step 2: the platform's own client, redirect URI and state, with max_age, the acr_values passed through, PKCE and a nonce.
    assert.equal(`${cis2Redirect.origin}${cis2Redirect.pathname}`, `${careid.issuer}/authorize`)
    const sent = Object.fromEntries(cis2Redirect.searchParams)
    assert.deepEqual(Object.keys(sent).sort(), ['acr_values', 'client_id', 'code_challenge', 'code_challenge_method', 'max_age', 'nonce', 'redirect_uri', 'response_type', 'scope', 'state'])
    assert.equal(sent.client_id, apiPlatformClientId)
    assert.equal(sent.redirect_uri, `${careid.apiOrigin}/oauth2/callback`)
    assert.equal(sent.scope, 'openid nationalrbacaccess')
    assert.equal(sent.max_age, '300')
    assert.equal(sent.acr_values, 'AAL2_TOTP')
    assert.equal(sent.response_type, 'code')
    assert.equal(sent.code_challenge_method, 'S256')
    assert.equal(sent.state?.length, 36)
    assert.notEqual(sent.state, 'app-state-1')
    assert.equal(platformCallback.origin + platformCallback.pathname, `${careid.apiOrigin}/oauth2/callback`)
    assert.equal(platformCallback.searchParams.get('state'), sent.state)

    // Step 3: back to the application, with a code of the platform's and the application's own state.
    assert.equal(appRedirect.status, 302)
    const back = new URL(appRedirect.headers.get('location') as string)
    assert.equal(back.origin + back.pathname, callback)
    assert.deepEqual([...back.searchParams.keys()].sort(), ['code', 'state'])
    assert.equal(back.searchParams.get('state'), 'app-state-1')
    const code = back.searchParams.get('code') as string

    const redeemed = await careid.context.store.codes.redeem(sha256(code), Date.now())
    assert.equal(redeemed.kind, 'first')
    assert.ok(redeemed.kind === 'first')
    assert.equal(redeemed.code.client_id, app.api_key)
    assert.equal(redeemed.code.redirect_uri, callback)
    const payload = redeemed.code.payload as unknown as PlatformCodePayload
    // A TOTP sign-in is AAL2: only the aal2 scope is left.
    assert.equal(payload.scope, aal2)
    const jones = person('nurse.jones')
    assert.equal(payload.user.sub, jones.uid)
    assert.equal(payload.user.aal, 2)
    assert.equal(payload.user.acr, 'AAL2_TOTP')
    assert.equal(typeof payload.user.sid, 'string')
    assert.deepEqual([...(payload.user.role_ids ?? [])].sort(), jones.positions.map((position) => position.person_roleid).sort())
    assert.ok(Math.abs(payload.authenticated_at - Date.now()) < 60_000)
    // The CIS2 access token, sealed, is CIS2's own: it opens userinfo at the provider.
    const cis2Token = careid.context.secrets.open(payload.cis2_access_token_sealed)
    const userinfo = await fetch(`${careid.issuer}/userinfo`, { headers: { authorization: `Bearer ${cis2Token}` } })
    assert.equal(userinfo.status, 200)
    assert.equal(((await userinfo.json()) as { sub: string }).sub, jones.uid)
  })

  it('a replayed callback is 400 "Invalid state parameter." as JSON, and makes no second code', async () => {
    const app = await addApp(careid, [aal2])
    const browser = new Browser(careid.origin)
    const { platformCallback, appRedirect } = await journey(careid, browser, authorizeUrl(careid, app), 'dr.hughes')
    assert.equal(appRedirect.status, 302)
    const again = await fetch(platformCallback.href, { redirect: 'manual' })
    assert.equal(again.status, 400)
    assert.equal(again.headers.get('location'), null)
    const body = (await again.json()) as Record<string, string>
    assert.equal(typeof body.message_id, 'string')
    assert.deepEqual({ ...body, message_id: undefined }, { error: 'invalid_request', error_description: 'Invalid state parameter.', message_id: undefined })
  })

  it('an AAL2 sign-in for an application with only aal3 products: 401 unauthorized_client with the platform\'s text, as JSON', async () => {
    const app = await addApp(careid, [aal3])
    const browser = new Browser(careid.origin)
    const { appRedirect } = await journey(careid, browser, authorizeUrl(careid, app), 'midwife.taylor')
    assert.equal(appRedirect.status, 401)
    assert.equal(appRedirect.headers.get('location'), null)
    const body = (await appRedirect.json()) as Record<string, string>
    assert.equal(body.error, 'unauthorized_client')
    assert.equal(body.error_description, 'you have tried to request authorization but your application is not configured to use this authorization grant type')
    assert.equal(typeof body.message_id, 'string')
  })

  it('an error from CIS2 goes on to the application with its state, and uses the interaction up', async () => {
    const app = await addApp(careid, [aal2])
    const start = await fetch(authorizeUrl(careid, app), { redirect: 'manual' })
    const platformState = new URL(start.headers.get('location') as string).searchParams.get('state') as string
    // What CIS2 sends back when the worker cancels (RFC 6749 4.1.2.1).
    const callbackUrl = `${careid.apiOrigin}/oauth2/callback?${new URLSearchParams({ error: 'access_denied', error_description: 'The End-User cancelled', state: platformState })}`
    const appRedirect = await fetch(callbackUrl, { redirect: 'manual' })
    assert.equal(appRedirect.status, 302)
    const back = new URL(appRedirect.headers.get('location') as string)
    assert.equal(back.origin + back.pathname, callback)
    assert.deepEqual(Object.fromEntries(back.searchParams), { error: 'access_denied', error_description: 'The End-User cancelled', state: 'app-state-1' })
    const again = await fetch(callbackUrl, { redirect: 'manual' })
    assert.equal(again.status, 400)
    assert.equal(((await again.json()) as { error_description: string }).error_description, 'Invalid state parameter.')
  })

  it('/userinfo is CIS2 userinfo through the platform; signing out at the provider reaches the platform, which revokes the grant', async () => {
    const app = await addApp(careid, [aal2])
    const browser = new Browser(careid.origin)
    const { appRedirect } = await journey(careid, browser, authorizeUrl(careid, app), 'pharm.singh')
    const code = new URL(appRedirect.headers.get('location') as string).searchParams.get('code') as string
    const redeemed = await careid.context.store.codes.redeem(sha256(code), Date.now())
    assert.ok(redeemed.kind === 'first')
    const payload = redeemed.code.payload as unknown as PlatformCodePayload
    // The grant the token endpoint makes of this code.
    const now = Date.now()
    const accessToken = randomToken(32)
    const grant: ApiGrantRecord = {
      grant_id: redeemed.code.grant_id,
      api_key: app.api_key,
      pattern: 'combined',
      scope: payload.scope,
      user: payload.user,
      cis2_access_token_sealed: payload.cis2_access_token_sealed,
      authenticated_at: payload.authenticated_at,
      refresh_until: payload.authenticated_at + 12 * 3600_000,
      created_at: now,
      expires_at: now + 12 * 3600_000,
    }
    await careid.context.store.apiGrants.issue(grant, [{ token_hash: sha256(accessToken), grant_id: grant.grant_id, kind: 'access', refresh_count: 0, created_at: now, expires_at: now + 599_000 }])

    const userinfo = await fetch(`${careid.apiOrigin}/oauth2/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
    assert.equal(userinfo.status, 200)
    const claims = (await userinfo.json()) as { sub: string; nhsid_nrbac_roles: unknown[] }
    assert.equal(claims.sub, person('pharm.singh').uid)
    assert.equal(claims.nhsid_nrbac_roles.length, person('pharm.singh').positions.length)

    // The worker signs out at CIS2 (confirming the sign-out page).
    const out = await browser.go(`${careid.issuer}/connect/endSession`)
    assert.ok(out.page)
    const confirm = form(out.page, '/endSession')
    const done = await browser.go(confirm.action, { form: confirm.fields })
    assert.equal(done.page?.status, 200)
    // The provider's outbox delivers the logout token to the platform, which revokes the grant.
    const deadline = Date.now() + 10_000
    while ((await careid.context.store.apiGrants.findAccess(sha256(accessToken), Date.now())) !== undefined) {
      assert.ok(Date.now() < deadline, 'the grant was revoked within 10 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const after = await fetch(`${careid.apiOrigin}/oauth2/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } })
    assert.equal(after.status, 401)
    const delivered = await careid.context.store.outbox.counts()
    assert.ok(delivered.delivered >= 1)
  })

  it('/oauth2/_ping answers 200 with exactly version, revision, releaseId and commitId; /oauth2/_status with the platform\'s shape', async () => {
    const ping = await fetch(`${careid.apiOrigin}/oauth2/_ping`)
    assert.equal(ping.status, 200)
    const body = (await ping.json()) as Record<string, unknown>
    assert.deepEqual(Object.keys(body).sort(), ['commitId', 'releaseId', 'revision', 'version'])
    assert.equal(body.version, '0.1.0')
    const status = await fetch(`${careid.apiOrigin}/oauth2/_status`)
    assert.equal(status.status, 200)
    const health = (await status.json()) as { status: string; checks: Record<string, { status: string; responseCode: number | null; links: { self: string } }> }
    assert.deepEqual(Object.keys(health).sort(), ['checks', 'commitId', 'releaseId', 'revision', 'status', 'version'])
    assert.equal(health.status, 'pass')
    assert.deepEqual(Object.keys(health.checks).sort(), ['nhs-cis2', 'store'])
    assert.equal(health.checks['nhs-cis2']?.status, 'pass')
    assert.equal(health.checks['nhs-cis2']?.responseCode, 200)
    assert.equal(health.checks['nhs-cis2']?.links.self, `${careid.issuer}/connect/jwk_uri`)
    assert.equal(health.checks.store?.status, 'pass')
  })
})
