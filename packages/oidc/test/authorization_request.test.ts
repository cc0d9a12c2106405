/**
 * Authorization request validation in its two phases. Phase one (client and redirect URI) errors
 * must never be redirected (RFC 6749 4.1.2.1); phase two errors go back to the trusted redirect
 * URI with the state. Each rule is checked for its exact error class, wire code, status and
 * whether it may be redirected.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ClientRecord } from '@careid/ports'
import {
  errorRedirect,
  redirectTo,
  resolveRedirect,
  validateRequest,
  withQuery,
  type RequestDeps,
  type TrustedRedirect,
} from '../src/authorization_request.ts'
import type { ClientRegistry } from '../src/clients.ts'
import {
  InvalidRedirectUri,
  InvalidRequest,
  InvalidScope,
  OAuthError,
  RegistrationNotSupported,
  RequestNotSupported,
  RequestUriNotSupported,
  InvalidClientId,
  UnknownClient,
  UnsupportedResponseType,
} from '../src/errors.ts'
import { Params, type RawParams } from '../src/params.ts'

const issuer = 'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'

function client(id: string, redirectUris: string[], changes: Partial<ClientRecord> = {}): ClientRecord {
  return {
    client_id: id,
    client_name: 'Test app',
    redirect_uris: redirectUris,
    post_logout_redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
    client_secret_hash: 'x',
    refresh_tokens: false,
    created_at: 0,
    ...changes,
  }
}

const oneUri = client('111111111111.apps.national', ['https://rp.example/cb'])
const withQueryUri = client('222222222222.apps.national', ['https://rp.example/cb?tenant=a', 'https://rp.example/other'])
const publicClient = client('333333333333.apps.national', ['http://127.0.0.1:8400/cb'], { token_endpoint_auth_method: 'none', client_secret_hash: undefined })
const nativeClient = client('444444444444.apps.national', ['http://127.0.0.1/callback', 'http://[::1]/callback?app=1', 'http://localhost:3000/cb'], {
  token_endpoint_auth_method: 'none',
  client_secret_hash: undefined,
})

const registry: ClientRegistry = {
  async get(id) {
    return [oneUri, withQueryUri, publicClient, nativeClient].find((c) => c.client_id === id)
  },
  invalidate() {},
}

type ErrorClass = abstract new (...args: never[]) => OAuthError

/** Asserts the exact class, wire code, status and redirect permission of a thrown error. */
function check(e: unknown, cls: ErrorClass, code: string, allowRedirect: boolean, description?: RegExp): true {
  assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`)
  assert.equal(e.error, code)
  assert.equal(e.status, 400)
  assert.equal(e.allowRedirect, allowRedirect)
  if (description !== undefined) assert.match(e.error_description, description)
  return true
}

describe('resolveRedirect', () => {
  const resolve = (raw: RawParams) => resolveRedirect(new Params(raw), registry)

  it('accepts a registered redirect URI given exactly', async () => {
    const trusted = await resolve({ client_id: oneUri.client_id, redirect_uri: 'https://rp.example/cb', state: 's1' })
    assert.equal(trusted.client.client_id, oneUri.client_id)
    assert.equal(trusted.redirect_uri, 'https://rp.example/cb')
    assert.equal(trusted.redirect_uri_given, true)
    assert.equal(trusted.state, 's1')
  })

  it('matches a registered query exactly: the same query passes, any change is refused', async () => {
    const ok = await resolve({ client_id: withQueryUri.client_id, redirect_uri: 'https://rp.example/cb?tenant=a' })
    assert.equal(ok.redirect_uri, 'https://rp.example/cb?tenant=a')
    for (const uri of [
      'https://rp.example/cb',
      'https://rp.example/cb?tenant=b',
      'https://rp.example/cb?tenant=a&x=1',
      'https://rp.example/cb?tenant=a#frag',
      'https://rp.example/cb/?tenant=a',
      'https://RP.example/cb?tenant=a',
      'https://rp.example:443/cb?tenant=a',
      'http://rp.example/cb?tenant=a',
    ]) {
      await assert.rejects(resolve({ client_id: withQueryUri.client_id, redirect_uri: uri }), (e) =>
        check(e, InvalidRedirectUri, 'invalid_request', false, /redirect_uri is not registered/),
      )
    }
  })

  it('lets a loopback IP redirect URI name any port (RFC 8252 7.3), the rest compared exactly; localhost keeps its port', async () => {
    for (const uri of ['http://127.0.0.1:50123/callback', 'http://127.0.0.1/callback', 'http://127.0.0.1:1/callback', 'http://[::1]:65535/callback?app=1']) {
      const trusted = await resolve({ client_id: nativeClient.client_id, redirect_uri: uri })
      assert.equal(trusted.redirect_uri, uri, 'the URI as given, its port included, is where the answer goes')
    }
    // A port registered is no constraint either.
    assert.equal((await resolve({ client_id: publicClient.client_id, redirect_uri: 'http://127.0.0.1:8401/cb' })).redirect_uri, 'http://127.0.0.1:8401/cb')
    for (const uri of [
      'http://127.0.0.1:50123/callback/',
      'http://127.0.0.1:50123/callback?x=1',
      'http://127.0.0.1:50123/other',
      'http://127.0.0.1:65536/callback',
      'http://127.0.0.1:50123@evil.example/callback',
      'http://127.0.0.1.evil.example:50123/callback',
      'https://127.0.0.1:50123/callback',
      'http://[::1]:50123/callback',
      'http://localhost:50123/callback',
      'http://localhost:3001/cb',
    ]) {
      await assert.rejects(resolve({ client_id: nativeClient.client_id, redirect_uri: uri }), (e) =>
        check(e, InvalidRedirectUri, 'invalid_request', false, /redirect_uri is not registered/),
      )
    }
  })

  it('does not normalise: a registered URI of another client is refused', async () => {
    await assert.rejects(resolve({ client_id: oneUri.client_id, redirect_uri: 'https://rp.example/other' }), (e) => check(e, InvalidRedirectUri, 'invalid_request', false))
  })

  it('lets the redirect URI be omitted only when exactly one is registered', async () => {
    const trusted = await resolve({ client_id: oneUri.client_id })
    assert.equal(trusted.redirect_uri, 'https://rp.example/cb')
    assert.equal(trusted.redirect_uri_given, false, 'the token request then must not need it')
    await assert.rejects(resolve({ client_id: withQueryUri.client_id }), (e) =>
      check(e, InvalidRedirectUri, 'invalid_request', false, /missing required parameter 'redirect_uri'/),
    )
    await assert.rejects(resolve({ client_id: withQueryUri.client_id, redirect_uri: '' }), (e) => check(e, InvalidRedirectUri, 'invalid_request', false))
  })

  it('refuses a missing or repeated client_id as invalid_request and an unknown one as invalid_client, never redirected', async () => {
    await assert.rejects(resolve({ redirect_uri: 'https://rp.example/cb' }), (e) => check(e, InvalidClientId, 'invalid_request', false, /client_id/))
    await assert.rejects(resolve({ client_id: '999999999999.apps.national', redirect_uri: 'https://rp.example/cb' }), (e) =>
      check(e, UnknownClient, 'invalid_client', false, /not registered/),
    )
    await assert.rejects(resolve({ client_id: [oneUri.client_id, oneUri.client_id], redirect_uri: 'https://rp.example/cb' }), (e) =>
      check(e, InvalidClientId, 'invalid_request', false, /more than once/),
    )
  })

  it('refuses a repeated redirect_uri, never redirected', async () => {
    await assert.rejects(resolve({ client_id: oneUri.client_id, redirect_uri: ['https://rp.example/cb', 'https://rp.example/cb'] }), (e) =>
      check(e, InvalidRedirectUri, 'invalid_request', false, /more than once/),
    )
  })

  it('drops a repeated state rather than echo one of them, and bounds its length', async () => {
    const repeated = await resolve({ client_id: oneUri.client_id, state: ['a', 'b'] })
    assert.equal(repeated.state, undefined)
    const long = await resolve({ client_id: oneUri.client_id, state: 'x'.repeat(5000) })
    assert.equal(long.state?.length, 2048)
  })
})

describe('validateRequest', () => {
  const trusted: TrustedRedirect = { client: oneUri, redirect_uri: 'https://rp.example/cb', redirect_uri_given: true, state: 's1' }
  const deps: RequestDeps = { hintSubject: (hint) => (hint === 'good.hint' ? '555254239107' : undefined) }
  const base = { response_type: 'code', scope: 'openid' }
  const validate = (raw: RawParams, t: TrustedRedirect = trusted) => validateRequest(new Params({ ...base, ...raw }), t, deps)
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

  it('accepts a minimal request and fills the defaults', () => {
    const r = validate({})
    assert.deepEqual(r.scopes, ['openid'])
    assert.deepEqual(r.acr_values, ['AAL3_ANY'])
    assert.equal(r.prompt.size, 0)
    assert.equal(r.max_age, undefined)
    assert.equal(r.nonce, undefined)
    assert.equal(r.code_challenge, undefined)
    assert.equal(r.state, 's1')
    assert.equal(r.redirect_uri, 'https://rp.example/cb')
    assert.deepEqual(r.ui_locales, [])
  })

  it('keeps what a full CIS2 request asks for', () => {
    const r = validate({
      scope: 'openid profile nationalrbacaccess selectedrole unknownscope',
      acr_values: 'AAL2_TOTP AAL3_ANY',
      prompt: 'login',
      max_age: '300',
      nonce: 'n-0S6_WzA2Mj',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      login_hint: 'nurse.jones',
      id_token_hint: 'good.hint',
      ui_locales: 'en-GB cy',
    })
    assert.deepEqual(r.scopes, ['openid', 'profile', 'nationalrbacaccess', 'selectedrole'], 'unknown scopes are dropped, not refused')
    assert.deepEqual(r.acr_values, ['AAL2_TOTP', 'AAL3_ANY'])
    assert.deepEqual([...r.prompt], ['login'])
    assert.equal(r.max_age, 300)
    assert.equal(r.nonce, 'n-0S6_WzA2Mj')
    assert.equal(r.code_challenge, challenge)
    assert.equal(r.login_hint, 'nurse.jones')
    assert.equal(r.id_token_hint_sub, '555254239107')
    assert.deepEqual(r.ui_locales, ['en-GB', 'cy'])
  })

  it('refuses a repeated state (it is then not echoed)', () => {
    assert.throws(() => validate({ state: ['a', 'b'] }), (e) => check(e, InvalidRequest, 'invalid_request', true, /'state'/))
  })

  it('refuses a state too long to echo exactly (RFC 6749 4.1.2), by redirect with the echo cut', () => {
    assert.doesNotThrow(() => validate({ state: 's'.repeat(2048) }), 'up to the limit is fine')
    assert.throws(() => validate({ state: 's'.repeat(2049) }), (e) => check(e, InvalidRequest, 'invalid_request', true, /state is too long/))
  })

  it('refuses request objects, request_uri and registration with their own codes', () => {
    assert.throws(() => validate({ request: 'eyJ.x.y' }), (e) => check(e, RequestNotSupported, 'request_not_supported', true))
    assert.throws(() => validate({ request_uri: 'https://rp.example/r' }), (e) => check(e, RequestUriNotSupported, 'request_uri_not_supported', true))
    assert.throws(() => validate({ registration: '{}' }), (e) => check(e, RegistrationNotSupported, 'registration_not_supported', true))
  })

  it('needs response_type=code exactly (CIS2 supports the code flow only)', () => {
    assert.throws(() => validateRequest(new Params({ scope: 'openid' }), trusted, deps), (e) =>
      check(e, InvalidRequest, 'invalid_request', true, /response_type/),
    )
    assert.throws(() => validate({ response_type: '' }), (e) => check(e, InvalidRequest, 'invalid_request', true, /response_type/))
    for (const type of ['token', 'id_token', 'code id_token', 'CODE']) {
      assert.throws(() => validate({ response_type: type }), (e) => check(e, UnsupportedResponseType, 'unsupported_response_type', true))
    }
    assert.throws(() => validate({ response_type: ['code', 'code'] }), (e) => check(e, InvalidRequest, 'invalid_request', true, /more than once/))
  })

  it('allows only response_mode=query', () => {
    assert.equal(validate({ response_mode: 'query' }).scopes[0], 'openid')
    for (const mode of ['fragment', 'form_post', 'jwt']) {
      assert.throws(() => validate({ response_mode: mode }), (e) => check(e, InvalidRequest, 'invalid_request', true, /response_mode/))
    }
  })

  it('needs the openid scope ("OpenID Connect requests MUST contain the openid scope value")', () => {
    for (const scope of ['profile', 'OpenID profile', '']) {
      assert.throws(() => validate({ scope }), (e) => check(e, InvalidScope, 'invalid_scope', true, /openid/))
    }
    assert.throws(() => validateRequest(new Params({ response_type: 'code' }), trusted, deps), (e) => check(e, InvalidScope, 'invalid_scope', true))
  })

  it('allows prompt none or login, never none with anything else', () => {
    assert.deepEqual([...validate({ prompt: 'none' }).prompt], ['none'])
    assert.deepEqual([...validate({ prompt: 'login login' }).prompt], ['login'])
    assert.throws(() => validate({ prompt: 'none login' }), (e) => check(e, InvalidRequest, 'invalid_request', true, /'none'/))
    for (const prompt of ['consent', 'select_account', 'create', 'login consent']) {
      assert.throws(() => validate({ prompt }), (e) => check(e, InvalidRequest, 'invalid_request', true, /unsupported prompt value/))
    }
  })

  it('takes max_age as a non-negative whole number of seconds', () => {
    assert.equal(validate({ max_age: '0' }).max_age, 0)
    assert.equal(validate({ max_age: '300' }).max_age, 300)
    for (const maxAge of ['-1', '1.5', 'abc', '1e3', ' 300', '12345678901']) {
      assert.throws(() => validate({ max_age: maxAge }), (e) => check(e, InvalidRequest, 'invalid_request', true, /max_age/))
    }
  })

  it('takes PKCE with S256 only, and requires it from public clients', () => {
    assert.equal(validate({ code_challenge: challenge, code_challenge_method: 'S256' }).code_challenge, challenge)
    assert.throws(() => validate({ code_challenge_method: 'S256' }), (e) => check(e, InvalidRequest, 'invalid_request', true, /without code_challenge/))
    assert.throws(() => validate({ code_challenge: challenge }), (e) => check(e, InvalidRequest, 'invalid_request', true, /must be S256/))
    assert.throws(() => validate({ code_challenge: challenge, code_challenge_method: 'plain' }), (e) => check(e, InvalidRequest, 'invalid_request', true, /must be S256/))
    assert.throws(() => validate({ code_challenge: challenge, code_challenge_method: 'S512' }), (e) =>
      check(e, InvalidRequest, 'invalid_request', true, /unsupported code_challenge_method/),
    )
    for (const bad of [challenge.slice(1), `${challenge}A`, `${challenge.slice(1)}+`, `${challenge.slice(1)}=`]) {
      assert.throws(() => validate({ code_challenge: bad, code_challenge_method: 'S256' }), (e) => check(e, InvalidRequest, 'invalid_request', true, /43 base64url/))
    }
    const publicTrusted: TrustedRedirect = { client: publicClient, redirect_uri: 'http://127.0.0.1:8400/cb', redirect_uri_given: true }
    assert.throws(() => validate({}, publicTrusted), (e) => check(e, InvalidRequest, 'invalid_request', true, /PKCE/))
    assert.equal(validate({ code_challenge: challenge, code_challenge_method: 'S256' }, publicTrusted).code_challenge, challenge)
  })

  it('bounds the nonce', () => {
    assert.equal(validate({ nonce: 'n'.repeat(2048) }).nonce?.length, 2048)
    assert.throws(() => validate({ nonce: 'n'.repeat(2049) }), (e) => check(e, InvalidRequest, 'invalid_request', true, /nonce/))
  })

  it('refuses an id_token_hint that is not one of ours', () => {
    assert.throws(() => validate({ id_token_hint: 'forged.hint' }), (e) => check(e, InvalidRequest, 'invalid_request', true, /id_token_hint/))
  })

  it('ignores an over-long login_hint and keeps at most ten ui_locales', () => {
    assert.equal(validate({ login_hint: 'x'.repeat(257) }).login_hint, undefined)
    assert.equal(validate({ login_hint: 'x'.repeat(256) }).login_hint?.length, 256)
    assert.equal(validate({ ui_locales: Array.from({ length: 12 }, (_, i) => `l${i}`).join(' ') }).ui_locales.length, 10)
  })

  it('falls back to AAL3_ANY when acr_values names nothing known', () => {
    assert.deepEqual(validate({ acr_values: 'urn:mace:incommon:iap:silver' }).acr_values, ['AAL3_ANY'])
  })
})

describe('error and response redirects', () => {
  it('errorRedirect puts error, description, state and iss on the redirect URI, keeping its query', () => {
    const trusted: TrustedRedirect = { client: withQueryUri, redirect_uri: 'https://rp.example/cb?tenant=a', redirect_uri_given: true, state: 'af0 ifj&sld' }
    const location = new URL(errorRedirect(trusted, new InvalidScope("scope must include 'openid'"), issuer))
    assert.equal(location.origin + location.pathname, 'https://rp.example/cb')
    assert.deepEqual([...location.searchParams.keys()], ['tenant', 'error', 'error_description', 'state', 'iss'])
    assert.equal(location.searchParams.get('tenant'), 'a')
    assert.equal(location.searchParams.get('error'), 'invalid_scope')
    assert.equal(location.searchParams.get('error_description'), "scope must include 'openid'")
    assert.equal(location.searchParams.get('state'), 'af0 ifj&sld')
    assert.equal(location.searchParams.get('iss'), issuer, 'RFC 9207 iss, verbatim with :443')
  })

  it('errorRedirect leaves state out when there is none', () => {
    const trusted: TrustedRedirect = { client: oneUri, redirect_uri: 'https://rp.example/cb', redirect_uri_given: false }
    const location = new URL(errorRedirect(trusted, new InvalidRequest('x'), issuer))
    assert.equal(location.searchParams.has('state'), false)
    assert.equal(location.searchParams.get('error'), 'invalid_request')
  })

  it('redirectTo adds iss; withQuery skips undefined values', () => {
    const location = new URL(redirectTo('https://rp.example/cb', { code: 'abc', state: undefined }, issuer))
    assert.deepEqual(Object.fromEntries(location.searchParams), { code: 'abc', iss: issuer })
    assert.equal(withQuery('https://rp.example/cb?a=1', { b: '2', c: undefined }), 'https://rp.example/cb?a=1&b=2')
  })
})
