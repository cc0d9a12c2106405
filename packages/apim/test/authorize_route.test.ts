/**
 * `GET /oauth2/authorize` (cis2.md 6.2 step 1, 6.7): each refusal in the platform's order, with its
 * status, error and exact text, and whether it redirects; then the redirect to CIS2 (step 2) and
 * what the platform remembers for the callback.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sha256 } from '@careid/oidc'
import type { ApplicationRecord } from '@careid/ports'
import { registerApplication } from '../src/application.ts'
import { aal2, aal3, callback, errorOf, startTestPlatform, type TestPlatform } from './support/platform.ts'

describe('GET /oauth2/authorize', () => {
  let platform: TestPlatform
  let app: ApplicationRecord
  before(async () => {
    platform = await startTestPlatform()
    app = await platform.addApp([aal3, aal2])
  })
  after(async () => platform.close())

  function authorize(params: Record<string, string | undefined>): Promise<Response> {
    const given: Record<string, string> = {}
    const all: Record<string, string | undefined> = { response_type: 'code', client_id: app.api_key, redirect_uri: callback, state: 'app-state', ...params }
    for (const [name, value] of Object.entries(all)) if (value !== undefined) given[name] = value
    return fetch(`${platform.origin}/oauth2/authorize?${new URLSearchParams(given)}`, { redirect: 'manual' })
  }

  async function refusedAsJson(response: Response, status: number, body: Record<string, string>): Promise<void> {
    assert.equal(response.status, status)
    assert.equal(response.headers.get('location'), null, 'no redirect')
    assert.deepEqual(await errorOf(response), body)
  }

  /** A 302 to the application's callback whose query is exactly `query`. */
  function redirectedWith(response: Response, query: Record<string, string>): void {
    assert.equal(response.status, 302)
    const location = new URL(response.headers.get('location') as string)
    assert.equal(location.origin + location.pathname, callback)
    assert.deepEqual(Object.fromEntries(location.searchParams), query)
    assert.equal([...location.searchParams.keys()].length, Object.keys(query).length, 'each parameter once')
  }

  it('client_id missing: 401 invalid_request "client_id is missing", JSON, no redirect', async () => {
    await refusedAsJson(await authorize({ client_id: undefined }), 401, { error: 'invalid_request', error_description: 'client_id is missing' })
  })

  it('client_id unknown: 401 invalid_request "client_id is invalid", JSON, no redirect', async () => {
    await refusedAsJson(await authorize({ client_id: 'invalid' }), 401, { error: 'invalid_request', error_description: 'client_id is invalid' })
  })

  it('an application without a user-restricted product: 401 access_denied with the platform\'s text, before the redirect URI is looked at', async () => {
    const { application } = registerApplication(
      { name: 'Back office', callback_urls: [callback], scopes: ['urn:nhsd:apim:app:level3:personal-demographics-service'], jwks_uri: 'https://app.example.test/jwks' },
      Date.now(),
    )
    await platform.store.apps.put(application)
    await refusedAsJson(await authorize({ client_id: application.api_key, redirect_uri: undefined }), 401, {
      error: 'access_denied',
      error_description:
        'API Key supplied does not have access to this resource. Please check the API Key you are using belongs to an app which has sufficient access to access this resource.',
    })
  })

  it('redirect_uri missing: 400 invalid_request "redirect_uri is missing", JSON, no redirect', async () => {
    await refusedAsJson(await authorize({ redirect_uri: undefined }), 400, { error: 'invalid_request', error_description: 'redirect_uri is missing' })
  })

  it('redirect_uri not the registered callback: 400 invalid_request "redirect_uri is invalid", JSON, no redirect', async () => {
    await refusedAsJson(await authorize({ redirect_uri: '/invalid' }), 400, { error: 'invalid_request', error_description: 'redirect_uri is invalid' })
    // Exactly equal: not a prefix, not another path.
    await refusedAsJson(await authorize({ redirect_uri: `${callback}/more` }), 400, { error: 'invalid_request', error_description: 'redirect_uri is invalid' })
  })

  it('state missing: 302 to the callback with error=invalid_request and "state is missing", and no state', async () => {
    redirectedWith(await authorize({ state: undefined }), { error: 'invalid_request', error_description: 'state is missing' })
  })

  it('response_type missing: 302 to the callback with error=invalid_request, "response_type is missing" and the state', async () => {
    redirectedWith(await authorize({ response_type: undefined }), { error: 'invalid_request', error_description: 'response_type is missing', state: 'app-state' })
  })

  it('response_type not code: 302 to the callback with error=unsupported_response_type, "response_type is invalid" and the state', async () => {
    redirectedWith(await authorize({ response_type: 'token' }), { error: 'unsupported_response_type', error_description: 'response_type is invalid', state: 'app-state' })
  })

  it('a good request goes to CIS2 with the platform\'s client, redirect URI and state, openid nationalrbacaccess, max_age=300, AAL3_ANY by default, PKCE and a nonce', async () => {
    const response = await authorize({})
    assert.equal(response.status, 302)
    const location = new URL(response.headers.get('location') as string)
    const { settings } = platform.cis2
    assert.equal(location.origin + location.pathname, settings.authorizationEndpoint)
    const sent = Object.fromEntries(location.searchParams)
    assert.equal(sent.response_type, 'code')
    assert.equal(sent.client_id, settings.clientId)
    assert.equal(sent.redirect_uri, 'http://127.0.0.1/oauth2/callback')
    assert.equal(sent.scope, 'openid nationalrbacaccess')
    assert.equal(sent.max_age, '300')
    assert.equal(sent.acr_values, 'AAL3_ANY')
    assert.equal(sent.code_challenge_method, 'S256')
    assert.match(sent.code_challenge as string, /^[A-Za-z0-9_-]{43}$/)
    assert.match(sent.nonce as string, /^[A-Za-z0-9_-]{43}$/)
    assert.match(sent.state as string, /^[A-Za-z0-9_-]{36}$/)

    // Remembered under a hash of the platform's state, for a short while.
    const stored = await platform.store.interactions.get(`apim:${sha256(sent.state as string)}`, Date.now())
    assert.ok(stored)
    assert.deepEqual({ ...stored.payload, code_verifier: undefined }, { kind: 'apim_authorize', api_key: app.api_key, redirect_uri: callback, state: 'app-state', code_verifier: undefined, nonce: sent.nonce })
    assert.ok(stored.expires_at > Date.now() && stored.expires_at <= Date.now() + 10 * 60_000)
  })

  it('acr_values are passed through to CIS2', async () => {
    const response = await authorize({ acr_values: 'AAL2_OR_AAL3_ANY' })
    assert.equal(new URL(response.headers.get('location') as string).searchParams.get('acr_values'), 'AAL2_OR_AAL3_ANY')
  })

  it('any method but GET: 405 with Allow: GET and no body', async () => {
    for (const method of ['POST', 'PATCH']) {
      const response = await fetch(`${platform.origin}/oauth2/authorize`, { method })
      assert.equal(response.status, 405, method)
      assert.equal(response.headers.get('allow'), 'GET')
      assert.equal(await response.text(), '')
    }
  })
})
