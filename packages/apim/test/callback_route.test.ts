/**
 * `GET /oauth2/callback` (cis2.md 6.2 step 3, 6.7): the state, single use; CIS2's error passed on;
 * the code exchange with `client_secret_post`; each check of the ID token in the platform's order
 * with its status and text; the scopes filtered by assurance level; the code stored and the
 * redirect to the application. CIS2 is a double here, so that it can answer wrongly.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { JWTPayload } from 'jose'
import { sha256 } from '@careid/oidc'
import type { ApplicationRecord } from '@careid/ports'
import type { PlatformCodePayload } from '../src/platform_code.ts'
import { aal2, aal3, callback, errorOf, startTestPlatform, type TestPlatform } from './support/platform.ts'

const catchAll =
  'An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID'

describe('GET /oauth2/callback', () => {
  let platform: TestPlatform
  let app: ApplicationRecord
  before(async () => {
    platform = await startTestPlatform()
    app = await platform.addApp([aal3, aal2])
  })
  after(async () => platform.close())

  /** An /authorize of the application: the platform's state and nonce as CIS2 received them. */
  async function begin(application = app): Promise<{ state: string; nonce: string }> {
    const query = new URLSearchParams({ response_type: 'code', client_id: application.api_key, redirect_uri: callback, state: 'app-state' })
    const response = await fetch(`${platform.origin}/oauth2/authorize?${query}`, { redirect: 'manual' })
    const sent = new URL(response.headers.get('location') as string).searchParams
    return { state: sent.get('state') as string, nonce: sent.get('nonce') as string }
  }

  /** Claims of a good CIS2 ID token for this request. */
  function claims(nonce: string, changes: JWTPayload = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000)
    const { settings } = platform.cis2
    return { iss: settings.issuer, aud: settings.clientId, sub: '555000000001', sid: 'cis2-session-1', nonce, iat: now, exp: now + 300, auth_time: now - 5, acr: 'AAL3_ANY', authentication_assurance_level: '3', ...changes }
  }

  function callbackWith(params: Record<string, string>): Promise<Response> {
    return fetch(`${platform.origin}/oauth2/callback?${new URLSearchParams(params)}`, { redirect: 'manual' })
  }

  async function refused(response: Response, status: number, error: string, description: string): Promise<void> {
    assert.equal(response.status, status)
    assert.equal(response.headers.get('location'), null, 'no redirect')
    assert.deepEqual(await errorOf(response), { error, error_description: description })
  }

  it('no state: 400 invalid_request "Invalid state parameter."', async () => {
    await refused(await callbackWith({ code: 'c' }), 400, 'invalid_request', 'Invalid state parameter.')
  })

  it('a state the platform never gave: 400 invalid_request "Invalid state parameter."', async () => {
    await refused(await callbackWith({ code: 'c', state: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), 400, 'invalid_request', 'Invalid state parameter.')
  })

  it('an expired interaction: 400 invalid_request "Invalid state parameter."', async () => {
    const { state } = await begin()
    const id = `apim:${sha256(state)}`
    const stored = await platform.store.interactions.get(id, Date.now())
    assert.ok(stored)
    await platform.store.interactions.put({ ...stored, expires_at: Date.now() - 1 })
    await refused(await callbackWith({ code: 'c', state }), 400, 'invalid_request', 'Invalid state parameter.')
  })

  it('a good callback: the code exchanged with client_secret_post, the platform\'s code stored, and a 302 to the application with exactly code and state', async () => {
    const { state, nonce } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce))
    const before = platform.cis2.tokenRequests.length
    const response = await callbackWith({ code: 'cis2-code-1', state })
    assert.equal(response.status, 302)
    const exchange = platform.cis2.tokenRequests[before] as URLSearchParams
    assert.deepEqual(Object.fromEntries([...exchange].filter(([name]) => name !== 'code_verifier')), {
      grant_type: 'authorization_code',
      code: 'cis2-code-1',
      redirect_uri: 'http://127.0.0.1/oauth2/callback',
      client_id: platform.cis2.settings.clientId,
      client_secret: platform.cis2.settings.clientSecret,
    })
    assert.match(exchange.get('code_verifier') as string, /^[A-Za-z0-9_-]{43}$/)

    const location = new URL(response.headers.get('location') as string)
    assert.equal(location.origin + location.pathname, callback)
    assert.deepEqual([...location.searchParams.keys()], ['code', 'state'])
    assert.equal(location.searchParams.get('state'), 'app-state')
    const redeemed = await platform.store.codes.redeem(sha256(location.searchParams.get('code') as string), Date.now())
    assert.ok(redeemed.kind === 'first')
    assert.equal(redeemed.code.client_id, app.api_key)
    assert.equal(redeemed.code.redirect_uri, callback)
    assert.ok(redeemed.code.expires_at > Date.now() && redeemed.code.expires_at <= Date.now() + 60_000)
    const payload = redeemed.code.payload as unknown as PlatformCodePayload
    assert.equal(payload.scope, aal3)
    assert.deepEqual(payload.user, { sub: '555000000001', sid: 'cis2-session-1', aal: 3, acr: 'AAL3_ANY', role_ids: ['555000000101'] })
    assert.equal(platform.secrets.open(payload.cis2_access_token_sealed), 'cis2-access-token')
    assert.equal(payload.authenticated_at, ((claims(nonce).auth_time as number) * 1000))

    // Single use: the same callback again finds nothing.
    await refused(await callbackWith({ code: 'cis2-code-1', state }), 400, 'invalid_request', 'Invalid state parameter.')
  })

  it('the application removed since /authorize: 401 invalid_request "client_id is invalid"', async () => {
    const gone = await platform.addApp([aal3])
    const { state } = await begin(gone)
    await platform.store.apps.remove(gone.api_key)
    await refused(await callbackWith({ code: 'c', state }), 401, 'invalid_request', 'client_id is invalid')
  })

  it('an error from CIS2 goes on to the application\'s redirect URI with its state, and nothing is exchanged', async () => {
    const { state } = await begin()
    const before = platform.cis2.tokenRequests.length
    const response = await callbackWith({ error: 'access_denied', error_description: 'cancelled', state })
    assert.equal(response.status, 302)
    const location = new URL(response.headers.get('location') as string)
    assert.equal(location.origin + location.pathname, callback)
    assert.deepEqual(Object.fromEntries(location.searchParams), { error: 'access_denied', error_description: 'cancelled', state: 'app-state' })
    assert.equal(platform.cis2.tokenRequests.length, before)
  })

  it('no code: 400 invalid_request "authorization_code is missing"', async () => {
    const { state } = await begin()
    await refused(await callbackWith({ state }), 400, 'invalid_request', 'authorization_code is missing')
  })

  it('CIS2 refusing the code: the platform\'s catch-all, 500 unknown_error', async () => {
    const { state } = await begin()
    platform.cis2.tokenStatus = 400
    try {
      await refused(await callbackWith({ code: 'c', state }), 500, 'unknown_error', catchAll)
    } finally {
      platform.cis2.tokenStatus = 200
    }
  })

  it('an ID token that is not a JWT: 400 invalid_request "Malformed JWT in External ID token"', async () => {
    const { state } = await begin()
    platform.cis2.nextIdToken = async () => 'not-a-jwt'
    await refused(await callbackWith({ code: 'c', state }), 400, 'invalid_request', 'Malformed JWT in External ID token')
  })

  it('an ID token for another audience: 400 invalid_request "Invalid \'aud\' claim in external ID token JWT"', async () => {
    const { state, nonce } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce, { aud: 'someone-else' }))
    await refused(await callbackWith({ code: 'c', state }), 400, 'invalid_request', "Invalid 'aud' claim in external ID token JWT")
  })

  it('an ID token from another issuer: 400 invalid_request "Invalid iss claim in external ID token JWT"', async () => {
    const { state, nonce } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce, { iss: 'https://elsewhere.example.test' }))
    await refused(await callbackWith({ code: 'c', state }), 400, 'invalid_request', 'Invalid iss claim in external ID token JWT')
  })

  it('the issuer is compared case-insensitively, as the platform compares it', async () => {
    const { state, nonce } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce, { iss: platform.cis2.settings.issuer.toUpperCase().replace('HTTP://', 'http://') }))
    assert.equal((await callbackWith({ code: 'c', state })).status, 302)
  })

  it('an ID token signed with a key CIS2 does not publish: 401 invalid_request "Invalid \'kid\' header in external ID token JWT - no matching public key"', async () => {
    const { state, nonce } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce), { kid: 'unknown-kid', foreignKey: true })
    await refused(await callbackWith({ code: 'c', state }), 401, 'invalid_request', "Invalid 'kid' header in external ID token JWT - no matching public key")
  })

  it('an ID token whose signature does not verify: 401 "public_key error" "JWT signature verification failed"', async () => {
    const { state, nonce } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce), { foreignKey: true })
    await refused(await callbackWith({ code: 'c', state }), 401, 'public_key error', 'JWT signature verification failed')
  })

  it('an expired ID token: 401 with the catch-all', async () => {
    const { state, nonce } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce, { exp: Math.floor(Date.now() / 1000) - 120 }))
    await refused(await callbackWith({ code: 'c', state }), 401, 'unknown_error', catchAll)
  })

  it('an ID token with another request\'s nonce: 401 with the catch-all', async () => {
    const { state } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims('another-nonce'))
    await refused(await callbackWith({ code: 'c', state }), 401, 'unknown_error', catchAll)
  })

  it('no product scope at the sign-in\'s assurance level: 401 unauthorized_client with the platform\'s text, as JSON, and no code', async () => {
    const aal3Only = await platform.addApp([aal3])
    const { state, nonce } = await begin(aal3Only)
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce, { acr: 'AAL2_TOTP', authentication_assurance_level: '2' }))
    await refused(
      await callbackWith({ code: 'c', state }),
      401,
      'unauthorized_client',
      'you have tried to request authorization but your application is not configured to use this authorization grant type',
    )
  })

  it('an AAL2 sign-in keeps only the aal2 scopes', async () => {
    const { state, nonce } = await begin()
    platform.cis2.nextIdToken = () => platform.cis2.sign(claims(nonce, { acr: 'AAL2_TOTP', authentication_assurance_level: '2' }))
    const response = await callbackWith({ code: 'c', state })
    const code = new URL(response.headers.get('location') as string).searchParams.get('code') as string
    const redeemed = await platform.store.codes.redeem(sha256(code), Date.now())
    assert.ok(redeemed.kind === 'first')
    assert.equal((redeemed.code.payload as unknown as PlatformCodePayload).scope, aal2)
  })
})
