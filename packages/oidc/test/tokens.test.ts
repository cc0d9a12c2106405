/**
 * The shapes of the tokens Careid signs, as CIS2 (ForgeRock AM) issues them (cis2.md 3.4, 1.5):
 * the ID token with ForgeRock's extras and string assurance levels, and the access token JWT with
 * `iss` and no `aud`. A fake signer makes the hashes visible.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { accessTokenClaims, auditTrackingId, idTokenClaims, type AuthenticationFacts, type TokenSigner } from '../src/tokens.ts'

const issuer = 'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'
const clientId = '969567331415.apps.national'
const nowMs = 1_750_000_000_123
const iat = 1_750_000_000
const signer: TokenSigner = {
  sign: () => 'unused',
  halfHash: (value) => `half(${value})`,
}
const facts: AuthenticationFacts = {
  sub: '555254239107',
  sid: 'sid-abc',
  acr: 'AAL2_TOTP',
  amr: ['TOTP'],
  aal: 2,
  auth_time: 1_749_999_700_999,
  id_assurance_level: '3',
}

function idToken(changes: Partial<Parameters<typeof idTokenClaims>[0]> = {}) {
  return idTokenClaims({ issuer, realm: '/NHSIdentity/Healthcare', clientId, facts, accessToken: 'AT', nowMs, ttlMs: 300_000, signer, ...changes })
}

describe('idTokenClaims', () => {
  it('carries the OIDC claims, with times in whole seconds', () => {
    const c = idToken()
    assert.equal(c.iss, issuer, 'verbatim, :443 included')
    assert.equal(c.aud, clientId)
    assert.equal(c.azp, clientId)
    assert.equal(c.sub, '555254239107')
    assert.equal(c.iat, iat)
    assert.equal(c.exp, iat + 300)
    assert.equal(c.auth_time, 1_749_999_700)
    assert.equal(c.sid, 'sid-abc')
    assert.equal(c.acr, 'AAL2_TOTP')
    assert.deepEqual(c.amr, ['TOTP'])
  })

  it('carries ForgeRock extras and the assurance levels as strings', () => {
    const c = idToken()
    assert.equal(c.tokenName, 'id_token')
    assert.equal(c.tokenType, 'JWTToken')
    assert.equal(c.realm, '/NHSIdentity/Healthcare')
    assert.equal(typeof c['org.forgerock.openidconnect.ops'], 'string')
    assert.match(c.auditTrackingId as string, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-\d+$/)
    assert.equal(c.id_assurance_level, '3')
    assert.equal(c.authentication_assurance_level, '2')
  })

  it('hashes the access token always, and the code and state when given', () => {
    const bare = idToken()
    assert.equal(bare.at_hash, 'half(AT)')
    assert.equal('c_hash' in bare, false)
    assert.equal('s_hash' in bare, false)
    const full = idToken({ code: 'CODE', state: 'STATE' })
    assert.equal(full.c_hash, 'half(CODE)')
    assert.equal(full.s_hash, 'half(STATE)')
  })

  it('has nonce and selected_roleid only when there are some, and no undefined claims', () => {
    const bare = idToken()
    assert.equal('nonce' in bare, false)
    assert.equal('selected_roleid' in bare, false)
    assert.equal(Object.values(bare).includes(undefined), false)
    const full = idToken({ nonce: 'n-0S6', facts: { ...facts, selected_roleid: '555254240100' } })
    assert.equal(full.nonce, 'n-0S6')
    assert.equal(full.selected_roleid, '555254240100')
  })

  it('gives each token its own ForgeRock handles', () => {
    assert.notEqual(idToken()['org.forgerock.openidconnect.ops'], idToken()['org.forgerock.openidconnect.ops'])
    assert.notEqual(auditTrackingId(), auditTrackingId())
  })
})

describe('accessTokenClaims', () => {
  function accessToken(changes: Partial<Parameters<typeof accessTokenClaims>[0]> = {}) {
    return accessTokenClaims({
      issuer,
      realm: '/NHSIdentity/Healthcare',
      clientId,
      sub: '555254239107',
      grantId: 'grant-1',
      grantType: 'authorization_code',
      scopes: ['openid', 'nationalrbacaccess'],
      authTimeMs: 1_749_999_700_999,
      nowMs,
      ttlMs: 3599_000,
      ...changes,
    })
  }

  it('has iss and no aud (cis2.md 1.5)', () => {
    const c = accessToken()
    assert.equal(c.iss, issuer)
    assert.equal('aud' in c, false)
  })

  it('is shaped as ForgeRock stateless access tokens', () => {
    const c = accessToken()
    assert.equal(c.sub, '555254239107')
    assert.equal(c.subname, '555254239107')
    assert.equal(c.client_id, clientId)
    assert.equal(c.authGrantId, 'grant-1')
    assert.equal(c.grant_type, 'authorization_code')
    assert.deepEqual(c.scope, ['openid', 'nationalrbacaccess'], 'scope is an array')
    assert.equal(c.tokenName, 'access_token')
    assert.equal(c.token_type, 'Bearer')
    assert.equal(c.cts, 'OAUTH2_STATELESS_GRANT')
    assert.equal(c.realm, '/NHSIdentity/Healthcare')
    assert.equal(c.auth_time, 1_749_999_700)
  })

  it('lives 3599 seconds from iat, valid from iat', () => {
    const c = accessToken()
    assert.equal(c.iat, iat)
    assert.equal(c.nbf, iat)
    assert.equal(c.exp, iat + 3599)
    assert.equal(c.expires_in, 3599)
  })

  it('has a unique jti, and selected_roleid only when a role was chosen', () => {
    assert.notEqual(accessToken().jti, accessToken().jti)
    assert.equal('selected_roleid' in accessToken(), false)
    assert.equal(accessToken({ selectedRoleId: '555254240100' }).selected_roleid, '555254240100')
  })
})
