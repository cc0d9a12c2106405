/**
 * Request parameters: a known parameter given twice is refused (RFC 6749 3.1 "MUST NOT be included
 * more than once"), an empty value counts as absent (RFC 6749 3.1 "Parameters sent without a value
 * MUST be treated as if they were omitted"), and unknown parameters are never looked at.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidRequest, OAuthError } from '../src/errors.ts'
import { Params, spaceList } from '../src/params.ts'

function assertInvalidRequest(fn: () => unknown, description: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidRequest)
    assert.ok(e instanceof OAuthError)
    assert.equal(e.error, 'invalid_request')
    assert.equal(e.status, 400)
    assert.equal(e.allowRedirect, true)
    assert.match(e.error_description, description)
    return true
  })
}

describe('Params', () => {
  it('returns a single value as given', () => {
    const p = new Params({ scope: 'openid profile', state: 'xyz' })
    assert.equal(p.get('scope'), 'openid profile')
    assert.equal(p.require('state'), 'xyz')
  })

  it('treats an empty value as absent', () => {
    const p = new Params({ state: '', nonce: undefined })
    assert.equal(p.get('state'), undefined)
    assert.equal(p.get('nonce'), undefined)
    assert.equal(p.get('missing'), undefined)
    assertInvalidRequest(() => p.require('state'), /missing required parameter 'state'/)
    assertInvalidRequest(() => p.require('missing'), /missing required parameter 'missing'/)
  })

  it('refuses a repeated known parameter when it is read', () => {
    const p = new Params({ redirect_uri: ['https://a.example/cb', 'https://b.example/cb'] })
    assert.equal(p.repeated('redirect_uri'), true)
    assertInvalidRequest(() => p.get('redirect_uri'), /'redirect_uri' parameter must not be provided more than once/)
    assertInvalidRequest(() => p.require('redirect_uri'), /more than once/)
  })

  it('refuses a repeat even when the values are the same or empty', () => {
    assertInvalidRequest(() => new Params({ state: ['a', 'a'] }).get('state'), /'state'/)
    assertInvalidRequest(() => new Params({ state: ['', ''] }).get('state'), /'state'/)
  })

  it('ignores repeats of parameters nobody reads', () => {
    const p = new Params({ scope: 'openid', utm_source: ['a', 'b'] })
    assert.equal(p.get('scope'), 'openid')
    assert.equal(p.repeated('scope'), false)
  })

  it('has() is about presence, even of an empty value', () => {
    const p = new Params({ request: '', request_uri: undefined })
    assert.equal(p.has('request'), true)
    assert.equal(p.has('request_uri'), false)
    assert.equal(p.has('registration'), false)
  })

  it('accepts no parameters at all', () => {
    assert.equal(new Params(undefined).get('scope'), undefined)
    assert.equal(new Params(null).has('scope'), false)
  })

  it('limits a view to the parameters a reader names: reading another is a programming error, not a refusal', () => {
    const p = new Params({ code: 'abc', client_secret: 's', code_verifier: ['a', 'b'] }).only(['code', 'code_verifier'])
    assert.equal(p.require('code'), 'abc')
    assertInvalidRequest(() => p.get('code_verifier'), /'code_verifier' parameter must not be provided more than once/)
    assert.throws(() => p.get('client_secret'), (e: unknown) => e instanceof Error && !(e instanceof OAuthError) && /'client_secret' is read but not named/.test(e.message))
    assert.throws(() => p.has('client_secret'), /not named/)
  })
})

describe('spaceList', () => {
  it('splits on spaces, keeps order, drops empty items and duplicates', () => {
    assert.deepEqual(spaceList('openid  profile openid email '), ['openid', 'profile', 'email'])
    assert.deepEqual(spaceList(' AAL2_TOTP AAL3_ANY'), ['AAL2_TOTP', 'AAL3_ANY'])
  })

  it('is empty for an absent or blank value', () => {
    assert.deepEqual(spaceList(undefined), [])
    assert.deepEqual(spaceList('   '), [])
  })

  it('is case sensitive (scope values are)', () => {
    assert.deepEqual(spaceList('openid OpenID'), ['openid', 'OpenID'])
  })
})
