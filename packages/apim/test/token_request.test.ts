import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Store } from '@careid/ports'
import { assertRefusal, clientAssertion, codeForm, idTokenType, jwtBearer, openSqlite, pdsAal3, pdsLevel3, platformCode, startPlatform, tokenExchangeForm, type Platform, type TestApplication } from './support/token_endpoint.ts'

describe('the platform token endpoint: which grant a request is (cis2.md 6.7)', () => {
  let platform: Platform
  let app: TestApplication
  before(async () => {
    platform = await startPlatform()
    app = await platform.application([pdsAal3, pdsLevel3])
  })
  after(async () => platform.close())

  it('refuses a body that is not a form with 415, whatever it holds', async () => {
    const code = await platformCode(platform, app)
    assertRefusal(await platform.post(codeForm(app, code), 'text/plain'), 415, 'invalid_request', 'Content-Type header must be application/x-www-form-urlencoded')
    const response = await platform.server.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(codeForm(app, code)) })
    assert.equal(response.statusCode, 415)
    assert.equal(response.json().error_description, 'Content-Type header must be application/x-www-form-urlencoded')
    // The same request as a form still redeems the code: the refusals changed nothing.
    assert.equal((await platform.post(codeForm(app, code))).status, 200)
  })

  it('refuses a request without a body or content type with 415', async () => {
    const response = await platform.server.inject({ method: 'POST', url: '/oauth2/token?grant_type=authorization_code' })
    assert.equal(response.statusCode, 415)
    const { message_id: messageId, ...rest } = response.json()
    assert.deepStrictEqual(rest, { error: 'invalid_request', error_description: 'Content-Type header must be application/x-www-form-urlencoded' })
    assert.equal(typeof messageId, 'string')
  })

  it('answers a missing grant_type with invalid_request "grant_type is missing"', async () => {
    assertRefusal(await platform.post({ client_id: app.apiKey, client_secret: app.secret }), 400, 'invalid_request', 'grant_type is missing')
  })

  it('answers an unknown grant_type with unsupported_grant_type "grant_type is invalid"', async () => {
    assertRefusal(await platform.post({ grant_type: 'password', client_id: app.apiKey, client_secret: app.secret }), 400, 'unsupported_grant_type', 'grant_type is invalid')
  })

  it('answers a token-exchange-shaped request with a missing grant_type with invalid_request "grant_type is invalid"', async () => {
    assertRefusal(await platform.post(await tokenExchangeForm(platform, app, { grant_type: undefined })), 400, 'invalid_request', 'grant_type is invalid')
  })

  it('answers a token-exchange-shaped request with another grant_type with invalid_request "grant_type is invalid"', async () => {
    assertRefusal(await platform.post(await tokenExchangeForm(platform, app, { grant_type: 'invalid' })), 400, 'invalid_request', 'grant_type is invalid')
    assertRefusal(await platform.post(await tokenExchangeForm(platform, app, { grant_type: 'client_credentials' })), 400, 'invalid_request', 'grant_type is invalid')
  })

  it('checks a token-exchange-shaped request\'s client_assertion_type before its grant_type', async () => {
    assertRefusal(
      await platform.post(await tokenExchangeForm(platform, app, { grant_type: 'invalid', client_assertion_type: 'invalid' })),
      400,
      'invalid_request',
      "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'",
    )
  })

  it('answers the token-exchange grant_type with a missing or other subject_token_type with its own text', async () => {
    const text = "missing or invalid subject_token_type - must be 'urn:ietf:params:oauth:token-type:id_token'"
    assertRefusal(await platform.post(await tokenExchangeForm(platform, app, { subject_token_type: undefined })), 400, 'invalid_request', text)
    assertRefusal(await platform.post(await tokenExchangeForm(platform, app, { subject_token_type: 'invalid' })), 400, 'invalid_request', text)
  })

  it('refuses a repeated grant_type as invalid_request, with a message_id', async () => {
    const form = new URLSearchParams([['grant_type', 'client_credentials'], ['grant_type', 'authorization_code']])
    const response = await platform.server.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() })
    assertRefusal({ status: response.statusCode, headers: response.headers, body: response.json() }, 400, 'invalid_request', "'grant_type' parameter must not be provided more than once")
  })

  it('gives every refusal a message_id of its own', async () => {
    const first = await platform.post({})
    const second = await platform.post({})
    assert.notEqual(first.body.message_id, second.body.message_id)
  })

  it('treats a client_credentials request with an id_token subject_token_type as a token exchange, whose grant_type it is not', async () => {
    const response = await platform.post({
      grant_type: 'client_credentials',
      subject_token_type: idTokenType,
      client_assertion_type: jwtBearer,
      client_assertion: await clientAssertion(app, platform.clock.now),
    })
    assertRefusal(response, 400, 'invalid_request', 'grant_type is invalid')
  })
})

describe('the platform token endpoint when something unexpected fails', () => {
  it('answers the platform\'s catch-all, 500 unknown_error with a message_id, and nothing of the failure', async () => {
    const { store, dispose } = await openSqlite()
    const failing: Store = Object.create(store, {
      codes: { value: { ...store.codes, redeem: () => Promise.reject(new Error('disk I/O error at /var/lib/careid/secret.db')) } },
    })
    const platform = await startPlatform('int', undefined, { store: failing, dispose })
    try {
      const app = await platform.application([pdsAal3])
      const response = await platform.post(codeForm(app, 'some-code'))
      assertRefusal(
        response,
        500,
        'unknown_error',
        'An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID',
      )
      assert.equal(JSON.stringify(response.body).includes('disk'), false)
    } finally {
      await platform.close()
    }
  })
})
