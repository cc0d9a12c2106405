/**
 * The whole life of a sign-in, driven by openid-client v6 as an independent relying party:
 * discovery, PKCE, nonce, state, ID token validation, userinfo, refresh (with rotation and reuse
 * detection), introspection, revocation, end session, and the back-channel logout that follows.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import * as oidc from 'openid-client'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { Browser } from '../support/browser.ts'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { signIn } from '../support/journey.ts'
import { password as demoPassword, someoneWithFewRoles } from '../support/demo_people.ts'

const person = someoneWithFewRoles()
const password = demoPassword(person)
const chosenRole = person.positions[1]?.person_roleid as string

describe('openid-client drives a whole CIS2 sign-in', () => {
  let careid: TestCareid
  let receiver: Receiver
  let config: oidc.Configuration
  const redirectUri = 'https://rp.example.test/callback'
  const postLogout = 'https://rp.example.test/signed-out'

  before(async () => {
    careid = await startTestCareid()
    receiver = await startReceiver()
    const { client_id, client_secret } = await careid.addClient({
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogout],
      backchannel_logout_uri: receiver.url,
      token_endpoint_auth_method: 'client_secret_post',
      refresh_tokens: true,
    })
    config = await oidc.discovery(new URL(careid.issuer), client_id, undefined, oidc.ClientSecretPost(client_secret as string), { execute: [oidc.allowInsecureRequests] })
  })
  after(async () => {
    await receiver.close()
    await careid.close()
  })

  it('signs in, uses, refreshes, revokes and logs out', async () => {
    const browser = new Browser(careid.origin)
    const verifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email nhsperson nationalrbacaccess associatedorgs selectedrole',
      acr_values: 'AAL2_TOTP',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      prompt: 'login',
    })
    const { location, pages } = await signIn(browser, url.href, {
      username: person.username,
      password,
      method: 'totp',
      code: () => careid.totp(person.uid),
      role: chosenRole,
    })
    assert.ok(location.startsWith(`${redirectUri}?`), location)
    assert.equal(new URL(location).searchParams.get('iss'), careid.issuer, 'RFC 9207 iss in the response')
    assert.ok(pages.some((p) => p.html.includes('name="role"')), 'the role picker was shown')

    const tokens = await oidc.authorizationCodeGrant(config, new URL(location), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true })
    const claims = tokens.claims()
    assert.ok(claims)
    assert.equal(claims.sub, person.uid)
    assert.equal(claims.acr, 'AAL2_TOTP')
    assert.deepEqual(claims.amr, ['TOTP'])
    assert.equal(claims.selected_roleid, chosenRole)
    assert.equal(claims.authentication_assurance_level, '2')
    assert.equal(claims.id_assurance_level, String(person.id_assurance_level))
    assert.equal(typeof claims.sid, 'string')
    assert.equal(typeof claims.auth_time, 'number')
    assert.equal(tokens.token_type, 'bearer')
    assert.equal(tokens.expires_in, 3599)

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, person.uid)
    assert.equal(userinfo.sub, person.uid)
    assert.equal(userinfo.nhsid_useruid, person.uid)
    assert.equal((userinfo.nhsid_nrbac_roles as unknown[]).length, person.positions.length)
    assert.equal(userinfo.selected_roleid, chosenRole)

    const introspected = await oidc.tokenIntrospection(config, tokens.access_token)
    assert.equal(introspected.active, true)
    assert.equal(introspected.sub, person.uid)

    // Refresh rotates the refresh token; presenting the old one again revokes the whole family.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string)
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token)
    assert.ok((await oidc.fetchUserInfo(config, refreshed.access_token, person.uid)).sub)
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token as string), (e: oidc.ResponseBodyError) => e.error === 'invalid_grant' && e.status === 400)
    await assert.rejects(oidc.fetchUserInfo(config, refreshed.access_token, person.uid), (e: oidc.WWWAuthenticateChallengeError) => e.status === 401)
    assert.equal((await oidc.tokenIntrospection(config, refreshed.refresh_token as string)).active, false)

    // A second sign-in in the same session (SSO: no pages), then revoke its access token.
    const second = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid profile', acr_values: 'AAL2_TOTP', state: 's2', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })
    const sso = await browser.go(second.href)
    assert.ok(sso.location?.startsWith(redirectUri), 'single sign-on answers without a page')
    const secondTokens = await oidc.authorizationCodeGrant(config, new URL(sso.location as string), { pkceCodeVerifier: verifier, expectedState: 's2' })
    assert.equal(secondTokens.claims()?.sid, claims.sid, 'same session')
    await oidc.tokenRevocation(config, secondTokens.access_token)
    assert.equal((await oidc.tokenIntrospection(config, secondTokens.access_token)).active, false)

    // RP-initiated logout: redirect to the registered URI with state, and a logout token.
    const logoutUrl = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: postLogout, state: 'bye' })
    const out = await browser.go(logoutUrl.href)
    assert.equal(out.location, `${postLogout}?state=bye`)
    const [logoutToken] = await receiver.waitFor(1)
    const { payload, protectedHeader } = await jwtVerify(logoutToken as string, createRemoteJWKSet(new URL(careid.provider.endpoints.jwks)), {
      issuer: careid.issuer,
      audience: config.clientMetadata().client_id,
      algorithms: ['RS256'],
    })
    assert.equal(protectedHeader.typ, 'logout+jwt')
    assert.equal(payload.sub, person.uid)
    assert.equal(payload.sid, claims.sid)
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} })
    assert.equal('nonce' in payload, false)
    assert.equal(typeof payload.jti, 'string')

    // The session is gone: prompt=none now gets login_required, by redirect.
    const none = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', acr_values: 'AAL2_TOTP', state: 's3', prompt: 'none', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })
    const after = await browser.go(none.href)
    const error = new URL(after.location as string).searchParams
    assert.equal(error.get('error'), 'login_required')
    assert.equal(error.get('state'), 's3')
  })
})
