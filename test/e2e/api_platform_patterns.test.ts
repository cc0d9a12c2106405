/**
 * The API Platform's patterns through `careid start`'s composition, over HTTP, the platform on its
 * own origin (cis2.md 6.2 to 6.7): application-restricted access with a signed JWT; the combined
 * journey's AAL filtering (an authenticator-app sign-in is AAL2) and the AAL3-only sample API's
 * step-up challenge (RFC 9470) against an AAL3 smartcard sign-in; the reduce-only test parameters,
 * honoured outside `live` and ignored in it; and the per-application rate limit.
 *
 * The worker's sign-ins are driven without a browser (test/support/browser.ts); the AAL3 one plays
 * the Identity Agent's part on the smartcard page (a ticket signed by the card and the agent key),
 * so these instances never hand the browser off to an agent.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose'
import { registerApplication } from '@careid/apim'
import { sha256 } from '@careid/oidc'
import { generatePopulation } from '@careid/pds'
import type { ApplicationRecord, PatientRecord } from '@careid/ports'
import { Browser, form } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { password, person } from '../support/demo_people.ts'
import { signIn, choosing } from '../support/journey.ts'
import { windowWithRoom } from '../support/rate_windows.ts'
import { agentProof, agentUrl, createAgentKey, identityAgentTicket, issueTestCard, openCardSession, postJson } from '../support/smartcard.ts'

const callback = 'https://app.example.test/callback'
const pds = {
  aal3: 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service',
  aal2: 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service',
  level3: 'urn:nhsd:apim:app:level3:personal-demographics-service',
}
const sampleAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api'
const SPINE = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode'
const noScopeLeft = 'you have tried to request authorization but your application is not configured to use this authorization grant type'

interface TestApp {
  record: ApplicationRecord
  secret: string
  privateKey: CryptoKey
}

interface Answer {
  status: number
  headers: Headers
  body: Record<string, unknown>
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
}

/** An application at the platform with an RSA key pair (the public key inline, kid `k1`). */
async function addApp(careid: TestCareid, scopes: string[]): Promise<TestApp> {
  const keys = await generateKeyPair('RS512', { extractable: true })
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'RS512' }
  const { application, secret } = registerApplication({ name: 'Clinical app', callback_urls: [callback], jwks: { keys: [jwk] }, scopes }, Date.now())
  await careid.context.store.apps.put(application)
  return { record: application, secret, privateKey: keys.privateKey }
}

/** cis2.md 6.3 step 2 / 6.5: RS512, iss = sub = the API key, aud the token URL, a fresh jti, exp 5 minutes on. */
function clientAssertion(careid: TestCareid, app: TestApp): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: 'k1' })
    .setIssuer(app.record.api_key)
    .setSubject(app.record.api_key)
    .setAudience(`${careid.apiOrigin}/oauth2/token`)
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
    .sign(app.privateKey)
}

async function token(careid: TestCareid, fields: Record<string, string>): Promise<Answer> {
  return answerOf(await fetch(`${careid.apiOrigin}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) }))
}

async function clientCredentials(careid: TestCareid, app: TestApp, extra: Record<string, string> = {}): Promise<Answer> {
  return token(careid, {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await clientAssertion(careid, app),
    ...extra,
  })
}

function authorizeUrl(careid: TestCareid, app: TestApp, acrValues: string, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams({ response_type: 'code', client_id: app.record.api_key, redirect_uri: callback, state: 'app-state', acr_values: acrValues, ...extra })
  return `${careid.apiOrigin}/oauth2/authorize?${query}`
}

/** The combined journey with a password and authenticator-app sign-in (AAL2): the platform's last answer to the browser. */
async function totpJourney(careid: TestCareid, app: TestApp, username: string, extra: Record<string, string> = {}): Promise<Response> {
  const browser = new Browser(careid.origin)
  const start = await browser.fetch(authorizeUrl(careid, app, 'AAL2_TOTP', extra))
  assert.equal(start.status, 302)
  const p = person(username)
  const { location } = await signIn(browser, start.headers.get('location') as string, { username: p.username, password: password(p), method: 'totp', code: () => careid.totp(p.uid) })
  assert.ok(location.startsWith(`${careid.apiOrigin}/oauth2/callback?`), location)
  return browser.fetch(location)
}

/** The combined journey with a smartcard sign-in (AAL3), the role chosen at the agent: the platform's last answer. */
async function smartcardJourney(careid: TestCareid, app: TestApp, username: string, role: string): Promise<Response> {
  const p = person(username)
  const card = await issueTestCard(careid, p.uid)
  const agent = await createAgentKey()
  const opened = await openCardSession(careid, card, agent)
  const path = '/agent/session/role'
  const chosen = await postJson(agentUrl(careid, path), { person_roleid: role }, { authorization: `Bearer ${opened.card_session_secret}`, 'agent-proof': await agentProof(careid, agent, path) })
  assert.equal(chosen.status, 200)
  const browser = new Browser(careid.origin)
  const landing = await choosing(browser, await browser.go(authorizeUrl(careid, app, 'AAL3_ANY')), 'smartcard')
  const page = landing.page
  assert.ok(page, `expected the smartcard page, got a redirect to ${landing.location}`)
  const challenge = /data-challenge="([^"]+)"/.exec(page.html)?.[1] as string
  const f = form(page, '/authenticate')
  const done = await browser.go(f.action, { form: { ...f.fields, ticket: await identityAgentTicket(careid, card, agent, opened.card_session, challenge) } })
  const back = done.location
  assert.ok(back !== undefined && back.startsWith(`${careid.apiOrigin}/oauth2/callback?`), back)
  return browser.fetch(back)
}

/** The platform's code from its redirect to the application. */
function codeOf(appRedirect: Response): string {
  assert.equal(appRedirect.status, 302)
  const back = new URL(appRedirect.headers.get('location') as string)
  assert.equal(back.origin + back.pathname, callback)
  assert.equal(back.searchParams.get('state'), 'app-state')
  return back.searchParams.get('code') as string
}

async function redeemCode(careid: TestCareid, app: TestApp, code: string, extra: Record<string, string> = {}): Promise<Answer> {
  return token(careid, { grant_type: 'authorization_code', code, redirect_uri: callback, client_id: app.record.api_key, client_secret: app.secret, ...extra })
}

function api(careid: TestCareid, path: string, accessToken: string, headers: Record<string, string> = {}): Promise<Answer> {
  return fetch(`${careid.apiOrigin}${path}`, { headers: { authorization: `Bearer ${accessToken}`, 'x-request-id': randomUUID(), ...headers } }).then(answerOf)
}

function outcome(severity: string, code: string, spineCode: string, display: string, diagnostics: string) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { coding: [{ system: SPINE, version: '1', code: spineCode, display }] }, diagnostics }] }
}

/** An active, unrestricted patient of the demo population, as stored. */
async function somePatient(careid: TestCareid): Promise<PatientRecord> {
  const chosen = generatePopulation({ size: 100 }).records.find((r) => r.status === 'active' && !r.restricted)
  assert.ok(chosen)
  const stored = await careid.context.store.patients.get(chosen.nhs_number)
  assert.ok(stored)
  return stored
}

describe('the API Platform\'s patterns through careid start', () => {
  // The int environment (the default), the default rate limit.
  let careid: TestCareid
  // The live environment, where no request shortens a lifetime, with a rate limit of 2 per second.
  let live: TestCareid
  let patient: PatientRecord

  before(async () => {
    ;[careid, live] = await Promise.all([
      startTestCareid({ config: { agentHandoff: 'never' } }),
      startTestCareid({ config: { agentHandoff: 'never' }, settings: { apiEnvironment: 'live', apiRateLimit: '2' } }),
    ])
    patient = await somePatient(careid)
  })
  after(async () => {
    await careid?.close()
    await live?.close()
  })

  describe('application-restricted access (cis2.md 6.5)', () => {
    it('client_credentials with a signed JWT: a level3 token, strings all, no refresh token; a Patient read works', async () => {
      const app = await addApp(careid, [pds.level3, pds.aal2])
      const before = Date.now()
      const issued = await clientCredentials(careid, app)
      assert.equal(issued.status, 200, JSON.stringify(issued.body))
      const body = issued.body as Record<string, string>
      assert.deepEqual(Object.keys(body), ['access_token', 'expires_in', 'token_type', 'issued_at'])
      assert.equal(body.expires_in, '599')
      assert.equal(body.token_type, 'Bearer')
      assert.match(body.issued_at as string, /^[0-9]{13}$/)
      assert.ok(Number(body.issued_at) >= before && Number(body.issued_at) <= Date.now())
      const held = await careid.context.store.apiGrants.findAccess(sha256(body.access_token as string), Date.now())
      assert.ok(held)
      // Only the level3 scope: the application's aal2 one is for sign-ins.
      assert.equal(held.grant.scope, pds.level3)
      assert.equal(held.grant.pattern, 'client_credentials')
      assert.equal(held.grant.user, undefined)

      const requestId = randomUUID()
      const read = await api(careid, `/personal-demographics/FHIR/R4/Patient/${patient.nhs_number}`, body.access_token as string, { 'x-request-id': requestId })
      assert.equal(read.status, 200, JSON.stringify(read.body))
      assert.equal(read.headers.get('x-request-id'), requestId)
      assert.equal(read.headers.get('etag'), `W/"${patient.version}"`)
      assert.deepEqual(read.body, patient.resource)
    })

    it('a search finds the one match; a search for more than one result is the proxy\'s 403', async () => {
      const app = await addApp(careid, [pds.level3])
      const issued = await clientCredentials(careid, app)
      assert.equal(issued.status, 200)
      const accessToken = issued.body.access_token as string
      const query = `family=${encodeURIComponent(patient.family)}&birthdate=eq${patient.birth_date}`
      const found = await api(careid, `/personal-demographics/FHIR/R4/Patient?${query}`, accessToken)
      assert.equal(found.status, 200, JSON.stringify(found.body))
      const bundle = found.body as { resourceType: string; total: number; entry: Array<{ resource: { id: string }; search: { score: number } }> }
      assert.equal(bundle.resourceType, 'Bundle')
      assert.equal(bundle.total, 1)
      assert.deepEqual(bundle.entry.map((e) => [e.resource.id, e.search.score]), [[patient.nhs_number, 1]])
      const search = await api(careid, `/personal-demographics/FHIR/R4/Patient?${query}&_max-results=2`, accessToken)
      assert.equal(search.status, 403)
      assert.deepEqual(
        search.body,
        outcome('error', 'token', 'INVALID_VALUE', 'Cannot retrieve more than one result with application-restricted access token', 'Your app has insufficient permissions to perform this search. Please contact support.'),
      )
    })

    it('an application with no level3 scope: 401 unauthorized_client with the platform\'s text', async () => {
      const app = await addApp(careid, [pds.aal3])
      const refused = await clientCredentials(careid, app)
      assert.equal(refused.status, 401)
      assert.equal(typeof refused.body.message_id, 'string')
      assert.deepEqual({ ...refused.body, message_id: undefined }, { error: 'unauthorized_client', error_description: noScopeLeft, message_id: undefined })
    })
  })

  describe('AAL filtering in the combined journey (cis2.md 6.2)', () => {
    it('an authenticator-app sign-in (AAL2) keeps only the aal2 product scopes; the token response is strings with sid', async () => {
      const app = await addApp(careid, [pds.aal3, pds.aal2, sampleAal3])
      const code = codeOf(await totpJourney(careid, app, 'nurse.jones'))
      const redeemed = await redeemCode(careid, app, code)
      assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body))
      const body = redeemed.body as Record<string, string>
      assert.deepEqual(Object.keys(body), ['access_token', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'refresh_count', 'token_type', 'sid'])
      assert.deepEqual([body.expires_in, body.refresh_token_expires_in, body.refresh_count, body.token_type], ['599', '43199', '0', 'Bearer'])
      const held = await careid.context.store.apiGrants.findAccess(sha256(body.access_token as string), Date.now())
      assert.ok(held)
      assert.equal(held.grant.scope, pds.aal2)
      assert.equal(held.grant.user?.aal, 2)
      assert.equal(held.grant.user?.sid, body.sid)

      // The Patient API takes the AAL2 token; nurse.jones has one role, so none need be named.
      const read = await api(careid, `/personal-demographics/FHIR/R4/Patient/${patient.nhs_number}`, body.access_token as string)
      assert.equal(read.status, 200, JSON.stringify(read.body))

      // The AAL3-only sample API: step up (RFC 9470), as a 401 with the challenge.
      const hello = await api(careid, '/sample-aal3-api/hello', body.access_token as string)
      assert.equal(hello.status, 401)
      assert.equal(hello.headers.get('www-authenticate'), 'Bearer error="insufficient_user_authentication", error_description="A sign-in at AAL3 is required to use this API", acr_values="AAL3_ANY"')
      assert.deepEqual(hello.body, outcome('error', 'forbidden', 'ACCESS_DENIED', 'Access Denied - Unauthorised', 'A sign-in at AAL3 is required to use this API'))
    })

    it('an application subscribed only to aal3 products, after an AAL2 sign-in: 401 unauthorized_client with the platform\'s text', async () => {
      const app = await addApp(careid, [pds.aal3, sampleAal3])
      const answer = await answerOf(await totpJourney(careid, app, 'midwife.taylor'))
      assert.equal(answer.status, 401)
      assert.equal(answer.headers.get('location'), null)
      assert.equal(typeof answer.body.message_id, 'string')
      assert.deepEqual({ ...answer.body, message_id: undefined }, { error: 'unauthorized_client', error_description: noScopeLeft, message_id: undefined })
    })

    it('a smartcard sign-in (AAL3) keeps the aal3 scopes and passes the AAL3-only sample API, in the role chosen at the agent', async () => {
      const app = await addApp(careid, [pds.aal3, pds.aal2, sampleAal3])
      const worker = person('pharm.singh')
      const role = worker.positions[1]?.person_roleid as string
      const redeemed = await redeemCode(careid, app, codeOf(await smartcardJourney(careid, app, 'pharm.singh', role)))
      assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body))
      const accessToken = redeemed.body.access_token as string
      const held = await careid.context.store.apiGrants.findAccess(sha256(accessToken), Date.now())
      assert.equal(held?.grant.scope, `${pds.aal3} ${sampleAal3}`)
      assert.equal(held?.grant.user?.aal, 3)

      const hello = await api(careid, '/sample-aal3-api/hello', accessToken)
      assert.equal(hello.status, 200, JSON.stringify(hello.body))
      assert.equal(hello.headers.get('www-authenticate'), null)
      assert.deepEqual(hello.body, { message: 'Hello from the sample AAL3 API', mode: 'healthcare_worker', apiKey: app.record.api_key, sub: worker.uid, roleId: role, aal: 3 })
    })
  })

  describe('the reduce-only test parameters (cis2.md 6.7)', () => {
    it('_access_token_expiry_ms=0 outside live: "0" seconds, and the token is then expired at the Patient API', async () => {
      const app = await addApp(careid, [pds.level3])
      const issued = await clientCredentials(careid, app, { _access_token_expiry_ms: '0' })
      assert.equal(issued.status, 200)
      assert.equal(issued.body.expires_in, '0')
      const read = await api(careid, `/personal-demographics/FHIR/R4/Patient/${patient.nhs_number}`, issued.body.access_token as string)
      assert.equal(read.status, 401)
      assert.deepEqual(read.body, outcome('error', 'forbidden', 'ACCESS_DENIED', 'Access Denied - Unauthorised', 'Access Token expired'))
    })

    it('_refresh_tokens_validity_ms=0 outside live: the refresh is 401 "refresh token refresh period has expired"', async () => {
      const app = await addApp(careid, [pds.aal2])
      const redeemed = await redeemCode(careid, app, codeOf(await totpJourney(careid, app, 'dr.hughes')), { _refresh_tokens_validity_ms: '0' })
      assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body))
      assert.equal(redeemed.body.refresh_token_expires_in, '0')
      const refused = await token(careid, { grant_type: 'refresh_token', refresh_token: redeemed.body.refresh_token as string, client_id: app.record.api_key, client_secret: app.secret })
      assert.equal(refused.status, 401)
      assert.equal(typeof refused.body.message_id, 'string')
      assert.deepEqual({ ...refused.body, message_id: undefined }, { error: 'invalid_grant', error_description: 'refresh token refresh period has expired', message_id: undefined })
    })

    it('in live (--api-environment live) both are ignored: full lifetimes, the token works and the refresh succeeds', async () => {
      const restricted = await addApp(live, [pds.level3])
      const issued = await clientCredentials(live, restricted, { _access_token_expiry_ms: '0' })
      assert.equal(issued.status, 200)
      assert.equal(issued.body.expires_in, '599')
      const read = await api(live, `/personal-demographics/FHIR/R4/Patient/${patient.nhs_number}`, issued.body.access_token as string)
      assert.equal(read.status, 200, JSON.stringify(read.body))

      const app = await addApp(live, [pds.aal2])
      const redeemed = await redeemCode(live, app, codeOf(await totpJourney(live, app, 'dr.hughes')), { _refresh_tokens_validity_ms: '0', _access_token_expiry_ms: '0' })
      assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body))
      assert.deepEqual([redeemed.body.expires_in, redeemed.body.refresh_token_expires_in], ['599', '43199'])
      const refreshed = await token(live, { grant_type: 'refresh_token', refresh_token: redeemed.body.refresh_token as string, client_id: app.record.api_key, client_secret: app.secret })
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
      assert.deepEqual([refreshed.body.expires_in, refreshed.body.refresh_count], ['599', '1'])
    })
  })

  describe('the per-application rate limit (--api-rate-limit 2)', () => {
    it('the third call in one second is 429 TOO_MANY_REQUESTS; another application is counted apart', async () => {
      const app = await addApp(live, [pds.level3])
      const other = await addApp(live, [pds.level3])
      const [mine, theirs] = await Promise.all([clientCredentials(live, app), clientCredentials(live, other)])
      const path = `/personal-demographics/FHIR/R4/Patient/${patient.nhs_number}`
      // Three calls and another application's one, all within one window.
      await windowWithRoom(1000, 600)
      const statuses: number[] = []
      for (let i = 0; i < 2; i++) statuses.push((await api(live, path, mine.body.access_token as string)).status)
      const requestId = randomUUID()
      const third = await api(live, path, mine.body.access_token as string, { 'x-request-id': requestId })
      const theirCall = await api(live, path, theirs.body.access_token as string)
      assert.deepEqual(statuses, [200, 200])
      assert.equal(third.status, 429)
      assert.equal(third.headers.get('retry-after'), '1')
      assert.equal(third.headers.get('x-request-id'), requestId)
      assert.deepEqual(
        third.body,
        outcome(
          'error',
          'value',
          'TOO_MANY_REQUESTS',
          'Too many requests',
          'This API is currently receiving a high volume of requests and is being rate limited. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details.',
        ),
      )
      assert.equal(theirCall.status, 200)
    })
  })
})
