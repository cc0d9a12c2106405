/**
 * The sign-in journey's state and the authorization request as the store keeps them: what is
 * written reads back the same, a journey written by the previous version still reads (a rolling
 * upgrade must not break a journey in flight), and a record that is not one the codec writes is
 * refused whole.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { passwordAuthenticator, totpAuthenticator } from '@careid/authenticators'
import type { ClientRecord, Json, StepView } from '@careid/ports'
import type { AuthorizationRequest } from '../src/authorization_request.ts'
import { decodeJourneyState, encodeJourneyState, newJourneyState, stepPages, type JourneyState } from '../src/journey_state.ts'
import { decodeAuthorizationRequest, encodeAuthorizationRequest, storedRequest, withClient } from '../src/request_codec.ts'

const pages = stepPages([passwordAuthenticator(), totpAuthenticator()])

const client = { client_id: 'c-1', client_name: 'Test app' } as ClientRecord

/** Every field of the request set. */
const fullRequest: AuthorizationRequest = {
  client,
  redirect_uri: 'https://rp.example.test/callback',
  redirect_uri_given: true,
  state: 'st-1',
  scopes: ['openid', 'profile', 'selectedrole'],
  nonce: 'n-1',
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  prompt: new Set(['login']),
  max_age: 300,
  acr_values: ['AAL2_TOTP', 'AAL1_USERPASS'],
  login_hint: 'dr.patel',
  id_token_hint_sub: '555260118104',
  ui_locales: ['en-GB', 'cy'],
}

/** Only what every request has (the optional values absent, as the request validation leaves them). */
const bareRequest: AuthorizationRequest = {
  client,
  redirect_uri: 'https://rp.example.test/callback',
  redirect_uri_given: false,
  state: undefined,
  scopes: ['openid'],
  nonce: undefined,
  code_challenge: undefined,
  prompt: new Set(),
  max_age: undefined,
  acr_values: ['AAL3_ANY'],
  login_hint: undefined,
  id_token_hint_sub: undefined,
  ui_locales: [],
}

/**
 * A journey as the previous version wrote it (serializeRequest and startInteraction, then the
 * password step failing), byte for byte: every absent value of the request null, the browser and
 * csrf as written, the step's view with its error and data.
 */
const previousVersionJourney = `{
  "request": {"client_id":"c-1","redirect_uri":"https://rp.example.test/callback","redirect_uri_given":false,
    "state":"st-1","scopes":["openid","selectedrole"],"nonce":null,"code_challenge":null,"prompt":[],"max_age":null,
    "acr_values":["AAL1_USERPASS"],"login_hint":null,"id_token_hint_sub":null,"ui_locales":[]},
  "browser":"0d3F6rXq3Yb9d8qJmE3c4d2ZyW1vU7tS5rQ3pO1nM0k","csrf":"k3Jd9sLx0QaZ7wVb2nYt4A","stage":"login","session":null,
  "method":"password","auth_state":{"step":"password"},
  "view":{"page":"password","values":{"username":"dr.patel"},"error":"locked","data":{"locked_minutes":3}}
}`

/** A journey as the previous version wrote it at its start: no method, state or view yet. */
const previousVersionStart = `{
  "request": {"client_id":"c-1","redirect_uri":"https://rp.example.test/callback","redirect_uri_given":true,
    "state":null,"scopes":["openid"],"nonce":"n-1","code_challenge":null,"prompt":["login"],"max_age":0,
    "acr_values":["AAL3_ANY","AAL2_TOTP"],"login_hint":null,"id_token_hint_sub":null,"ui_locales":["en-GB"]},
  "browser":"0d3F6rXq3Yb9d8qJmE3c4d2ZyW1vU7tS5rQ3pO1nM0k","csrf":"k3Jd9sLx0QaZ7wVb2nYt4A","stage":"select_role","session":"c2Vzc2lvbi1oYXNo"
}`

/** What a JSON store gives back for `value`: undefined dropped, only JSON types. */
function throughStore(value: Json): Json {
  return JSON.parse(JSON.stringify(value)) as Json
}

function state(overrides: Partial<JourneyState> = {}): JourneyState {
  const started = newJourneyState(fullRequest, { browser: 'b-hash', csrf: 'csrf-1', stage: 'login', session: undefined })
  return { ...started, method: undefined, view: undefined, ...overrides }
}

describe('the authorization request codec', () => {
  it('reads back every field it wrote, and the request answers to the client looked up again', () => {
    for (const request of [fullRequest, bareRequest]) {
      const decoded = decodeAuthorizationRequest(throughStore(encodeAuthorizationRequest(storedRequest(request))))
      assert.ok(decoded)
      assert.deepEqual(withClient(decoded, client), request)
    }
  })

  it('writes an absent value as null, as every earlier version did', () => {
    assert.deepEqual(encodeAuthorizationRequest(storedRequest(bareRequest)), {
      client_id: 'c-1',
      redirect_uri: 'https://rp.example.test/callback',
      redirect_uri_given: false,
      state: null,
      scopes: ['openid'],
      nonce: null,
      code_challenge: null,
      prompt: [],
      max_age: null,
      acr_values: ['AAL3_ANY'],
      login_hint: null,
      id_token_hint_sub: null,
      ui_locales: [],
    })
  })

  it('refuses a stored request with any field missing or of the wrong kind', () => {
    const good = encodeAuthorizationRequest(storedRequest(fullRequest))
    const broken: Array<[string, Json | undefined]> = [
      ['client_id', undefined],
      ['client_id', 7],
      ['redirect_uri', null],
      ['redirect_uri_given', 'true'],
      ['state', 5],
      ['scopes', 'openid'],
      ['scopes', ['openid', 3]],
      ['nonce', {}],
      ['prompt', 'login'],
      ['prompt', ['consent']],
      ['max_age', '300'],
      ['acr_values', 'AAL3_ANY'],
      ['acr_values', ['AAL9_NONE']],
      ['login_hint', []],
      ['ui_locales', null],
    ]
    for (const [field, value] of broken) {
      const json: { [key: string]: Json } = { ...good }
      if (value === undefined) delete json[field]
      else json[field] = value
      assert.equal(decodeAuthorizationRequest(json), undefined, `${field}: ${JSON.stringify(value)}`)
    }
    for (const notAnObject of [null, 'request', 3, [good]]) assert.equal(decodeAuthorizationRequest(notAnObject), undefined)
  })
})

describe('the journey state codec', () => {
  it('reads back every stage of a journey it wrote', () => {
    const views: StepView[] = [
      { page: 'password' },
      { page: 'password', values: { username: 'dr.patel' }, error: 'locked', data: { locked_minutes: 4 } },
      { page: 'totp', error: 'code_already_used' },
      { page: 'totp', error: 'locked', data: { locked_minutes: 15 } },
    ]
    const states: JourneyState[] = [
      state(),
      state({ stage: 'select_role', session: 'session-hash' }),
      ...views.map((view) => state({ method: 'totp', auth_state: { step: 'code', uid: '555260118104' }, view })),
      // Handed off: awaiting the answer (no view), then answered.
      state({ method: 'totp', auth_state: { challenge: 'c' }, handoff: 'awaited' }),
      state({ method: 'totp', auth_state: { step: 'code' }, view: { page: 'totp', error: 'code_already_used' }, handoff: 'answered' }),
      // Started as the method this browser last used, then left for the choice.
      state({ method: 'totp', auth_state: { step: 'password' }, view: { page: 'password' }, remembered: 'started' }),
      state({ remembered: 'left' }),
    ]
    for (const written of states) assert.deepEqual(decodeJourneyState(throughStore(encodeJourneyState(written)), pages), written)
  })

  it('reads a journey in flight as the previous version stored it, and writes it back the same', () => {
    const stored = JSON.parse(previousVersionJourney) as Json
    const decoded = decodeJourneyState(stored, pages)
    assert.deepEqual(decoded, {
      request: {
        client_id: 'c-1',
        redirect_uri: 'https://rp.example.test/callback',
        redirect_uri_given: false,
        state: 'st-1',
        scopes: ['openid', 'selectedrole'],
        nonce: undefined,
        code_challenge: undefined,
        prompt: new Set(),
        max_age: undefined,
        acr_values: ['AAL1_USERPASS'],
        login_hint: undefined,
        id_token_hint_sub: undefined,
        ui_locales: [],
      },
      browser: '0d3F6rXq3Yb9d8qJmE3c4d2ZyW1vU7tS5rQ3pO1nM0k',
      csrf: 'k3Jd9sLx0QaZ7wVb2nYt4A',
      stage: 'login',
      session: undefined,
      method: 'password',
      auth_state: { step: 'password' },
      view: { page: 'password', values: { username: 'dr.patel' }, error: 'locked', data: { locked_minutes: 3 } },
    } satisfies JourneyState)
    assert.deepEqual(encodeJourneyState(decoded), stored)
  })

  it('reads a journey the previous version stored at its start, before any method was chosen', () => {
    const decoded = decodeJourneyState(JSON.parse(previousVersionStart) as Json, pages)
    assert.ok(decoded)
    assert.equal(decoded.stage, 'select_role')
    assert.equal(decoded.session, 'c2Vzc2lvbi1oYXNo')
    assert.equal(decoded.method, undefined)
    assert.equal(decoded.auth_state, null)
    assert.equal(decoded.view, undefined)
    assert.deepEqual(decoded.request.prompt, new Set(['login']))
    assert.equal(decoded.request.max_age, 0)
    assert.deepEqual(decoded.request.acr_values, ['AAL3_ANY', 'AAL2_TOTP'])
  })

  it('writes a journey that never handed off without a handoff field, as earlier versions read it', () => {
    assert.equal('handoff' in encodeJourneyState(state()), false)
    assert.equal(encodeJourneyState(state({ handoff: 'awaited' })).handoff, 'awaited')
  })

  it('writes a journey that started no remembered method without a remembered field, as earlier versions read it', () => {
    assert.equal('remembered' in encodeJourneyState(state()), false)
    assert.equal(encodeJourneyState(state({ remembered: 'left' })).remembered, 'left')
  })

  it('refuses a stored journey with any field missing, of the wrong kind, or a view no configured page shows', () => {
    const good = JSON.parse(previousVersionJourney) as { [key: string]: Json }
    const broken: Array<[string, Json | undefined]> = [
      ['request', undefined],
      ['request', 'c-1'],
      ['request', { ...(good.request as { [key: string]: Json }), acr_values: 'AAL1_USERPASS' }],
      ['browser', undefined],
      ['browser', 12],
      ['csrf', null],
      ['stage', 'consent'],
      ['session', 3],
      ['method', ['password']],
      ['handoff', 'sent'],
      ['handoff', true],
      ['remembered', 'totp'],
      ['remembered', true],
      ['view', 'password'],
      ['view', { values: { username: 'dr.patel' } }],
      // A page no configured authenticator shows (the smartcard's, with only password and TOTP).
      ['view', { page: 'smartcard', data: { challenge: 'c', agent_origin: 'http://127.0.0.1:4445' } }],
      // An error the page does not have, values that are not strings, data of the wrong kind.
      ['view', { page: 'password', error: 'invalid_ticket' }],
      ['view', { page: 'password', values: { username: 7 } }],
      ['view', { page: 'password', data: { locked_minutes: 'three' } }],
      ['view', { page: 'totp', values: { username: 'dr.patel' } }],
      ['view', { page: 'password', data: [] }],
    ]
    for (const [field, value] of broken) {
      const json: { [key: string]: Json } = { ...good }
      if (value === undefined) delete json[field]
      else json[field] = value
      assert.equal(decodeJourneyState(json, pages), undefined, `${field}: ${JSON.stringify(value)}`)
    }
    for (const notAnObject of [null, 'journey', 1, [good]]) assert.equal(decodeJourneyState(notAnObject, pages), undefined)
  })

  it('admits only views of declared pages, with their own error codes (checked by the compiler)', () => {
    const views: StepView[] = [
      // @ts-expect-error: no authenticator declares a page named 'carrier_pigeon'
      { page: 'carrier_pigeon' },
      // @ts-expect-error: 'invalid_ticket' is the smartcard page's error, not the password page's
      { page: 'password', error: 'invalid_ticket' },
      // @ts-expect-error: the TOTP page's data has no challenge
      { page: 'totp', data: { challenge: 'c' } },
    ]
    assert.equal(views.length, 3)
  })
})
