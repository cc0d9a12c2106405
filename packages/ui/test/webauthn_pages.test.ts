// The WebAuthn pages: the ceremony's options reach the page's script in a data- attribute (escaped,
// never inline script), the scripts are files under common.assets, and every refusal has its words.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { renderPage, type WebAuthnPage, type WebAuthnRegisterPage } from '../src/index.ts'

const common = { assets: '/assets', lang: 'en-GB', service: 'Careid' }
const form = { action: '/interaction/abc/authenticate', csrf: 'csrf-token' }
const options = JSON.stringify({ challenge: 'ch"al<lenge>', rpId: 'careid.test', allowCredentials: [], userVerification: 'required' })

function text(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/\s+/g, ' ')
}

const signIn: WebAuthnPage = { page: 'webauthn', common, form, client_name: 'Ward app', kind: 'security_key', method_label: 'Security key', options, alternatives: ['Smartcard'], retry: '/r', back: '/b' }
const register: WebAuthnRegisterPage = { page: 'webauthn_register', common, form, client_name: 'Careid', kind: 'passkey', method_label: 'Passkey', options, max_aal: 2, retry: '/r' }

describe('the WebAuthn pages', () => {
  it('carry the options in data-options, escaped, and load the library and the page script as files', () => {
    for (const page of [signIn, register]) {
      const html = renderPage(page)
      const attribute = /data-options="([^"]*)"/.exec(html)?.[1]
      assert.ok(attribute !== undefined)
      assert.equal(attribute.replaceAll('&quot;', '"').replaceAll('&#92;', '\\').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&'), options)
      assert.deepEqual([...html.matchAll(/<script src="([^"]+)" defer><\/script>/g)].map((m) => m[1]), ['/assets/simplewebauthn/index.umd.min.js', '/assets/webauthn.js'])
      assert.match(html, /<input type="hidden" name="response" id="webauthn-response" value="">/)
      assert.match(html, /<input type="hidden" name="csrf" value="csrf-token">/)
    }
    assert.match(renderPage(signIn), /data-ceremony="get"[^>]*data-autostart="yes"/)
    assert.match(renderPage({ ...signIn, error: 'webauthn_cancelled' }), /data-autostart="no"/)
    assert.match(renderPage(register), /data-ceremony="create"[^>]*data-autostart="no"/)
  })

  it('say what went wrong at sign-in, for each refusal', () => {
    const expected: Array<[NonNullable<WebAuthnPage['error']>, string]> = [
      ['webauthn_cancelled', 'Your browser did not give a security key answer (it was cancelled, it timed out, or there was no key). Try again'],
      ['unknown_credential', 'That security key is not registered with Careid for this way of signing in. Use one you registered, or choose another way to sign in'],
      ['counter_regression', 'That security key could not be used: it may have been copied. Contact your Registration Authority (RA)'],
      ['wrong_origin', 'That answer was made for another website, not this one. Sign in only on this page'],
      ['challenge_replayed', 'That answer was already used or has expired. Try again'],
      ['user_not_verified', 'Your security key did not check it was you. Use its PIN, fingerprint or face, then try again'],
      ['method_not_accepted', 'That security key does not sign you in at the level Ward app needs. Use another one, or choose another way to sign in'],
    ]
    for (const [error, words] of expected) {
      const html = renderPage({ ...signIn, error })
      assert.ok(text(html).includes(words), `${error}: ${text(html)}`)
      assert.match(html, /<a href="#webauthn-start">/)
    }
  })

  it('say what went wrong at registration, for each refusal', () => {
    const expected: Array<[NonNullable<WebAuthnRegisterPage['error']>, string]> = [
      ['webauthn_cancelled', 'Your browser did not create a passkey (it was cancelled or timed out). Try again'],
      ['unknown_credential', 'That passkey is already registered with Careid'],
      ['wrong_origin', 'That answer was made for another website, not this one. Register only on this page'],
      ['challenge_replayed', 'That answer was already used or has expired. Try again'],
      ['user_not_verified', 'Your passkey did not check it was you. Set up its PIN, fingerprint or face, then try again'],
      ['attestation_not_trusted', 'Careid cannot confirm this passkey is a known, certified authenticator, which this way of signing in needs. Use another one, or ask your Registration Authority (RA)'],
      ['method_not_accepted', 'This passkey would sign you in at a higher level than you may add now (at most level 2). Sign in at a higher level first, or ask your Registration Authority (RA) for an enrolment code'],
    ]
    for (const [error, words] of expected) assert.ok(text(renderPage({ ...register, error })).includes(words), error)
  })
})
