/**
 * `POST /oauth2/backchannel_logout` (cis2.md 6.2 step 7): each check of the logout token in the
 * platform's order with its status and exact text (identity-service's back-channel logout tests),
 * and the revocation of every platform token of the session.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { JWTPayload } from 'jose'
import { sha256 } from '@careid/oidc'
import type { ApplicationRecord } from '@careid/ports'
import { aal3, errorOf, issueGrant, startTestPlatform, type TestPlatform } from './support/platform.ts'

const event = 'http://schemas.openid.net/event/backchannel-logout'

describe('POST /oauth2/backchannel_logout', () => {
  let platform: TestPlatform
  let app: ApplicationRecord
  before(async () => {
    platform = await startTestPlatform()
    app = await platform.addApp([aal3])
  })
  after(async () => platform.close())

  function logoutClaims(changes: JWTPayload = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000)
    return { aud: platform.cis2.settings.clientId, iss: platform.cis2.settings.issuer, sub: '555000000001', iat: now - 10, jti: crypto.randomUUID(), sid: 'cis2-session-9', events: { [event]: {} }, ...changes }
  }

  function without(name: string): JWTPayload {
    const claims = logoutClaims()
    delete claims[name]
    return claims
  }

  function post(form: Record<string, string>): Promise<Response> {
    return fetch(`${platform.origin}/oauth2/backchannel_logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() })
  }

  async function refused(response: Response, status: number, error: string, description: string): Promise<void> {
    assert.equal(response.status, status)
    assert.deepEqual(await errorOf(response), { error, error_description: description })
  }

  it('no logout_token: 400 invalid_request "Malformed JWT in logout_token"', async () => {
    await refused(await post({}), 400, 'invalid_request', 'Malformed JWT in logout_token')
  })

  it('a logout_token that is not a JWT: 400 invalid_request "Malformed JWT in logout_token"', async () => {
    await refused(await post({ logout_token: 'not.a.jwt' }), 400, 'invalid_request', 'Malformed JWT in logout_token')
  })

  it('another audience: 400 "Missing/invalid aud claim in JWT"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(logoutClaims({ aud: 'invalid_aud_claim' })) }), 400, 'invalid_request', 'Missing/invalid aud claim in JWT')
  })

  it('no aud: 400 "Missing/invalid aud claim in JWT"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(without('aud')) }), 400, 'invalid_request', 'Missing/invalid aud claim in JWT')
  })

  it('the platform\'s client_id not first among several audiences: 400 "Missing/invalid aud claim in JWT"', async () => {
    const token = await platform.cis2.sign(logoutClaims({ aud: ['someone-else', platform.cis2.settings.clientId] }))
    await refused(await post({ logout_token: token }), 400, 'invalid_request', 'Missing/invalid aud claim in JWT')
  })

  it('another issuer: 400 "Missing/invalid iss claim in JWT"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(logoutClaims({ iss: 'invalid_iss_claim' })) }), 400, 'invalid_request', 'Missing/invalid iss claim in JWT')
  })

  it('no iss: 400 "Missing/invalid iss claim in JWT"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(without('iss')) }), 400, 'invalid_request', 'Missing/invalid iss claim in JWT')
  })

  it('no sid: 400 "Missing sid claim in JWT"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(without('sid')) }), 400, 'invalid_request', 'Missing sid claim in JWT')
  })

  it('events without the back-channel logout member: 400 "Missing/invalid events claim in JWT"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(logoutClaims({ events: { invalid_event_url: {} } })) }), 400, 'invalid_request', 'Missing/invalid events claim in JWT')
  })

  it('no events: 400 "Missing/invalid events claim in JWT"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(without('events')) }), 400, 'invalid_request', 'Missing/invalid events claim in JWT')
  })

  it('a nonce: 400 "Prohibited nonce claim in JWT"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(logoutClaims({ nonce: 'valid_nonce' })) }), 400, 'invalid_request', 'Prohibited nonce claim in JWT')
  })

  it('the claims are checked before the signature', async () => {
    const token = await platform.cis2.sign(logoutClaims({ aud: 'invalid_aud_claim' }), { kid: 'invalid_kid', foreignKey: true })
    await refused(await post({ logout_token: token }), 400, 'invalid_request', 'Missing/invalid aud claim in JWT')
  })

  it('a kid CIS2 does not publish: 400 bad_request "Unable to verify JWT", and nothing revoked', async () => {
    const grant = await issueGrant(platform, { apiKey: app.api_key, pattern: 'combined', sid: 'cis2-session-kid', tokens: ['token-kid'] })
    await refused(await post({ logout_token: await platform.cis2.sign(logoutClaims({ sid: grant.user?.sid }), { kid: 'invalid_kid', foreignKey: true }) }), 400, 'bad_request', 'Unable to verify JWT')
    assert.ok(await platform.store.apiGrants.findAccess(sha256('token-kid'), Date.now()))
  })

  it('a forged signature: 400 bad_request "Unable to verify JWT", and nothing revoked', async () => {
    const grant = await issueGrant(platform, { apiKey: app.api_key, pattern: 'combined', sid: 'cis2-session-forged', tokens: ['token-forged'] })
    await refused(await post({ logout_token: await platform.cis2.sign(logoutClaims({ sid: grant.user?.sid }), { foreignKey: true }) }), 400, 'bad_request', 'Unable to verify JWT')
    assert.ok(await platform.store.apiGrants.findAccess(sha256('token-forged'), Date.now()))
  })

  it('a session the platform holds no grant of: 501 not_implemented "SID not found"', async () => {
    await refused(await post({ logout_token: await platform.cis2.sign(logoutClaims({ sid: '5b8f2499-ad4a-4a7c-b0ac-aaada65bda2b' })) }), 501, 'not_implemented', 'SID not found')
  })

  it('a good logout token (RS512 too, aud as an array): 200 {"success": true}, and every token of the session stops working, refreshed ones included', async () => {
    await issueGrant(platform, { apiKey: app.api_key, pattern: 'combined', sid: 'cis2-session-ok', tokens: ['token-first', 'token-refreshed'] })
    await issueGrant(platform, { apiKey: app.api_key, pattern: 'combined', sid: 'cis2-session-other', tokens: ['token-other'] })
    const token = await platform.cis2.sign(logoutClaims({ sid: 'cis2-session-ok', aud: [platform.cis2.settings.clientId] }), { alg: 'RS512' })
    const response = await post({ logout_token: token })
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { success: true })
    assert.equal(await platform.store.apiGrants.findAccess(sha256('token-first'), Date.now()), undefined)
    assert.equal(await platform.store.apiGrants.findAccess(sha256('token-refreshed'), Date.now()), undefined)
    assert.ok(await platform.store.apiGrants.findAccess(sha256('token-other'), Date.now()), 'another session keeps its grant')
  })
})
