import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, createRemoteJWKSet, generateKeyPair } from 'jose'
import {
  assertRefusal,
  cis2Issuer,
  grantOfAccess,
  idToken,
  idTokenClaims,
  keyPair,
  pdsAal2,
  pdsAal3,
  pdsLevel3,
  sampleAal3,
  startPlatform,
  tokenExchangeForm,
  type Platform,
  type TestApplication,
} from './support/token_endpoint.ts'

const noScopeLeft = 'you have tried to request authorization but your application is not configured to use this authorization grant type'

/** A JWT with exactly this header and payload and a meaningless signature (the checks before the signature read it). */
function unsignedJwt(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part(header)}.${part(payload)}.${Buffer.from('not a signature').toString('base64url')}`
}

describe('the platform token endpoint: token exchange (cis2.md 6.3)', () => {
  let platform: Platform
  let app: TestApplication
  before(async () => {
    platform = await startPlatform()
    app = await platform.application([pdsAal3, pdsAal2, sampleAal3, pdsLevel3])
  })
  after(async () => platform.close())

  async function exchange(subjectToken: string | undefined, changes: Record<string, string | undefined> = {}, application = app) {
    return platform.post(await tokenExchangeForm(platform, application, { subject_token: subjectToken, ...changes }))
  }

  it('exchanges a CIS2 ID token for string-typed platform tokens with issued_token_type', async () => {
    const response = await exchange(await idToken(platform))
    assert.equal(response.status, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    const { access_token: accessToken, refresh_token: refreshToken, ...rest } = response.body
    assert.deepStrictEqual(rest, {
      expires_in: '599',
      token_type: 'Bearer',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      refresh_token_expires_in: '43199',
      refresh_count: '0',
    })
    assert.match(String(refreshToken), /^[A-Za-z0-9_-]{43}$/)
    const found = await grantOfAccess(platform, String(accessToken))
    assert.ok(found)
    assert.equal(found.grant.pattern, 'token_exchange')
    // The AAL3 sign-in keeps the application's aal3 scopes only.
    assert.equal(found.grant.scope, `${pdsAal3} ${sampleAal3}`)
    // The user as the ID token states them; no role ids, as the platform holds no CIS2 access token.
    assert.deepStrictEqual(found.grant.user, { sub: '910000000001', sid: 'cis2-session-1', aal: 3, acr: 'AAL3_ANY', selected_roleid: '555021935107' })
    assert.equal(found.grant.cis2_access_token_sealed, undefined)
    assert.equal(found.grant.authenticated_at, (Math.floor(platform.clock.now / 1000) - 30) * 1000)
  })

  it('accepts an RS512 ID token too, and no other algorithm', async () => {
    const rs512 = await keyPair('RS512', 'cis2-key-512')
    const rs512Platform = await startPlatform('int', createLocalJWKSet({ keys: [platform.cis2Key.jwk, rs512.jwk] }))
    try {
      const application = await rs512Platform.application([pdsAal3])
      const form = async (token: string) => tokenExchangeForm(rs512Platform, application, { subject_token: token })
      assert.equal((await rs512Platform.post(await form(await idToken(rs512Platform, {}, { alg: 'RS512', kid: rs512.kid }, rs512.privateKey)))).status, 200)
      const ps512 = await generateKeyPair('PS512')
      assertRefusal(await rs512Platform.post(await form(await idToken(rs512Platform, {}, { alg: 'PS512', kid: rs512.kid }, ps512.privateKey))), 400, 'invalid_request', 'subject_token is invalid')
    } finally {
      await rs512Platform.close()
    }
  })

  it('gives an AAL2 sign-in only the aal2 scopes', async () => {
    const response = await exchange(await idToken(platform, { authentication_assurance_level: '2', acr: 'AAL2_OR_AAL3_ANY' }))
    assert.equal(response.status, 200)
    assert.equal((await grantOfAccess(platform, String(response.body.access_token)))?.grant.scope, pdsAal2)
  })

  it('refuses with 401 unauthorized_client when no scope is left at the sign-in\'s level', async () => {
    const aal3Only = await platform.application([sampleAal3, pdsLevel3])
    assertRefusal(await exchange(await idToken(platform, { authentication_assurance_level: '2' }), {}, aal3Only), 401, 'unauthorized_client', noScopeLeft)
    assertRefusal(await exchange(await idToken(platform, { authentication_assurance_level: undefined }), {}, aal3Only), 401, 'unauthorized_client', noScopeLeft)
  })

  it('refuses a missing subject_token', async () => {
    assertRefusal(await exchange(undefined), 400, 'invalid_request', 'Missing subject_token')
  })

  it('refuses a subject_token that is not a JWT', async () => {
    assertRefusal(await exchange('invalid'), 400, 'invalid_request', 'Malformed JWT in subject_token')
  })

  it('refuses a subject token without kid', async () => {
    assertRefusal(await exchange(await idToken(platform, {}, { kid: undefined })), 400, 'invalid_request', "Missing 'kid' header in subject_token JWT")
  })

  it('refuses a subject token whose typ is not JWT, or absent', async () => {
    const text = "Invalid 'typ' header in subject_token JWT - must be 'JWT'"
    assertRefusal(await exchange(await idToken(platform, {}, { typ: 'invalid' })), 400, 'invalid_request', text)
    assertRefusal(await exchange(await idToken(platform, {}, { typ: undefined })), 400, 'invalid_request', text)
  })

  it('refuses a subject token without alg', async () => {
    const token = unsignedJwt({ typ: 'JWT', kid: 'cis2-key-1' }, idTokenClaims(platform.clock.now))
    assertRefusal(await exchange(token), 400, 'invalid_request', "Missing 'alg' header in subject_token JWT")
  })

  it('refuses a subject token without exp', async () => {
    assertRefusal(await exchange(await idToken(platform, { exp: undefined })), 400, 'invalid_request', "Missing 'exp' claim in subject_token JWT")
  })

  it('refuses a subject token whose exp is not a number', async () => {
    const exp = String(Math.floor(platform.clock.now / 1000) + 300)
    assertRefusal(await exchange(await idToken(platform, { exp })), 400, 'invalid_request', "Invalid 'exp' claim in subject_token JWT - must be an integer")
  })

  it('refuses an expired subject token', async () => {
    const exp = Math.floor(platform.clock.now / 1000) - 1
    assertRefusal(await exchange(await idToken(platform, { exp })), 400, 'invalid_request', "Invalid 'exp' claim in subject_token JWT - JWT has expired")
  })

  it('refuses a subject token without iss', async () => {
    assertRefusal(await exchange(await idToken(platform, { iss: undefined })), 400, 'invalid_request', "Missing 'iss' claim in subject_token JWT")
  })

  it('refuses a subject token without aud with 401', async () => {
    assertRefusal(await exchange(await idToken(platform, { aud: undefined })), 401, 'invalid_request', "Missing 'aud' claim in subject_token JWT")
  })

  it('refuses a subject token from another issuer with 400', async () => {
    const text = "Missing or non-matching 'iss' claim in subject_token JWT"
    assertRefusal(await exchange(await idToken(platform, { iss: 'https://auth.login.nhs.uk' })), 400, 'invalid_request', text)
    assertRefusal(await exchange(await idToken(platform, { iss: cis2Issuer.toUpperCase() })), 400, 'invalid_request', text)
  })

  it('refuses a subject token whose kid CIS2 does not publish with 401', async () => {
    assertRefusal(await exchange(await idToken(platform, {}, { kid: 'invalid' })), 401, 'invalid_request', "Invalid 'kid' header in subject_token JWT - no matching public key")
  })

  it('refuses a forged subject token with 401 public_key error', async () => {
    const forger = await keyPair('RS256', platform.cis2Key.kid)
    assertRefusal(await exchange(await idToken(platform, {}, {}, forger.privateKey)), 401, 'public_key error', 'JWT signature verification failed')
  })

  it('refuses an ID token without the sid a grant needs', async () => {
    assertRefusal(await exchange(await idToken(platform, { sid: undefined })), 400, 'invalid_request', 'subject_token is invalid')
  })

  it('authenticates the application before it reads the subject token', async () => {
    assertRefusal(await exchange('invalid', { client_assertion: undefined }), 400, 'invalid_request', 'Missing client_assertion')
  })

  it('shortens the access token and the refresh period when asked', async () => {
    const response = await exchange(await idToken(platform), { _access_token_expiry_ms: '100000', _refresh_tokens_validity_ms: '60000' })
    assert.equal(response.body.expires_in, '99')
    assert.equal(response.body.refresh_token_expires_in, '59')
  })
})

describe('the platform token endpoint: token exchange when CIS2\'s keys cannot be fetched', () => {
  it('answers the platform\'s catch-all 500 unknown_error', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const platform = await startPlatform('int', createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/jwks`)))
    try {
      const app = await platform.application([pdsAal3, pdsLevel3])
      assertRefusal(
        await platform.post(await tokenExchangeForm(platform, app)),
        500,
        'unknown_error',
        'An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID',
      )
    } finally {
      await platform.close()
    }
  })
})
