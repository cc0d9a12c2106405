/**
 * The separate pattern from a native application (cis2.md 5.3, 6.3; RFC 8252), through `careid
 * start`'s composition, the platform on its own origin: a program that is not a browser app
 * (test/support/native_app.ts) signs the worker in through the system browser (Chromium, launched
 * here) with a loopback redirect and PKCE, exchanges its CIS2 ID token at the platform with an
 * RS512 client assertion, and reads a patient at the Patient API.
 *
 * The application registers one redirect URI at CIS2, `http://127.0.0.1/callback`, and each
 * sign-in listens on a port the system chose at run time, which its authorization request names:
 * RFC 8252 7.3, "The authorization server MUST allow any port to be specified at the time of the
 * request for loopback IP redirect URIs".
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose'
import type { BrowserContext, Page } from 'playwright-core'
import { registerApplication } from '@careid/apim'
import type { Person } from '@careid/domain'
import { sha256 } from '@careid/oidc'
import { generatePopulation } from '@careid/pds'
import type { ApplicationRecord, PatientRecord } from '@careid/ports'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { password, person } from '../support/demo_people.ts'
import { LoopbackRedirect, NativeApp } from '../support/native_app.ts'
import { chromium, requires } from '../support/system_packages.ts'

const aal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
const aal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'
const roleText = (value: string) =>
  `Invalid value - '${value}' in header 'NHSD-Session-URID'. Refer to the guidance for this header in our API Specification https://digital.nhs.uk/developer/api-catalogue/personal-demographics-service-fhir`

describe('the separate pattern from a native application, through the system browser', requires(chromium), () => {
  let careid: TestCareid
  let work: string
  let context: BrowserContext
  let page: Page
  let application: ApplicationRecord
  let cis2ClientId: string
  let privateKey: CryptoKey
  let patient: PatientRecord
  // One listener per sign-in: each catches one redirect.
  const loopbacks: LoopbackRedirect[] = []

  before(async () => {
    careid = await startTestCareid()
    work = mkdtempSync(join(tmpdir(), 'careid-native-'))
    loopbacks.push(await LoopbackRedirect.open(), await LoopbackRedirect.open())
    // At CIS2: a public client (no secret: PKCE instead) with a loopback redirect URI and no port.
    ;({ client_id: cis2ClientId } = await careid.addClient({ client_name: 'Native clinical app', redirect_uris: ['http://127.0.0.1/callback'], token_endpoint_auth_method: 'none' }))
    assert.notEqual(loopbacks[0]?.redirectUri, loopbacks[1]?.redirectUri, 'each listener has a port of its own')
    // At the platform: an application with an RSA key pair, the public key inline with its kid.
    const keys = await generateKeyPair('RS512', { extractable: true })
    privateKey = keys.privateKey
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'native-app-key-1', alg: 'RS512', use: 'sig' }
    ;({ application } = registerApplication({ name: 'Native clinical app', callback_urls: ['http://127.0.0.1/callback'], jwks: { keys: [jwk] }, scopes: [aal3, aal2] }, Date.now()))
    await careid.context.store.apps.put(application)
    // An active patient of the demo population whose record is shown whole (not restricted), as stored.
    const chosen = generatePopulation({ size: 100 }).records.find((r) => r.status === 'active' && !r.restricted)
    assert.ok(chosen)
    patient = (await careid.context.store.patients.get(chosen.nhs_number)) as PatientRecord
    assert.ok(patient)
    ;({ context, page } = await launchChromium(mkdtempSync(join(work, 'chromium-'))))
  })
  after(async () => {
    await context?.close()
    for (const loopback of loopbacks) await loopback.close()
    await careid?.close()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  function nativeApp(): NativeApp {
    return new NativeApp({
      issuer: careid.issuer,
      cis2ClientId,
      apiBaseUrl: careid.apiOrigin,
      apiKey: application.api_key,
      privateKey,
      kid: 'native-app-key-1',
      // The system browser: Chromium opens the URL, and the worker goes on from there.
      openBrowser: async (url) => {
        await page.goto(url)
      },
    })
  }

  /** The worker, at the browser: username and password, the authenticator app's code, and a role when asked. */
  async function workerSignsIn(who: Person, loopback: LoopbackRedirect, role?: string): Promise<void> {
    await page.waitForURL(/\/interaction\/[^/]+$/)
    if ((await page.getByLabel('Authenticator app').count()) > 0) {
      await page.getByLabel('Authenticator app').check()
      await page.getByRole('button', { name: 'Continue' }).click()
    }
    await page.getByLabel('Username').fill(who.username)
    await page.getByLabel('Password').fill(password(who))
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.getByLabel('Enter the code from your authenticator app').fill(await careid.totp(who.uid))
    await page.getByRole('button', { name: 'Continue' }).click()
    if (role !== undefined) {
      await page.check(`input[name="role"][value="${role}"]`)
      await page.getByRole('button', { name: 'Continue' }).click()
    }
    await page.waitForURL((url) => url.href.startsWith(`${loopback.redirectUri}?`))
    assert.equal(await page.locator('p').first().textContent(), 'You can close this window and return to the application.')
  }

  it('signs in with PKCE on a loopback redirect, exchanges the ID token with an RS512 assertion, and reads a patient in the chosen role', async () => {
    const worker = person('dr.patel')
    assert.ok(worker.positions.length > 1, 'dr.patel holds several roles')
    const role = worker.positions[1]?.person_roleid as string
    const [loopback] = loopbacks as [LoopbackRedirect]
    const app = nativeApp()

    const sent: string[] = []
    page.on('request', (request) => sent.push(request.url()))
    const signingIn = app.signIn(loopback, { scope: 'openid profile nationalrbacaccess selectedrole', acr_values: 'AAL2_TOTP' })
    await workerSignsIn(worker, loopback, role)
    const { tokens, idToken, claims } = await signingIn

    // The authorization request the browser carried: PKCE S256, state, nonce, the loopback redirect.
    const request = new URL(sent.find((url) => url.startsWith(`${careid.issuer}/authorize?`)) as string)
    assert.equal(request.searchParams.get('code_challenge_method'), 'S256')
    assert.match(request.searchParams.get('code_challenge') as string, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(request.searchParams.get('redirect_uri'), loopback.redirectUri)
    assert.equal(request.searchParams.get('client_id'), cis2ClientId)
    // CIS2's answer to a public client: no refresh token was asked for, none is given; the ID token is the worker's.
    assert.equal(tokens.token_type, 'Bearer')
    assert.equal(tokens.refresh_token, undefined)
    assert.equal(claims.sub, worker.uid)
    assert.equal(claims.acr, 'AAL2_TOTP')
    assert.deepEqual(claims.amr, ['TOTP'])
    assert.equal(claims.authentication_assurance_level, '2')
    assert.equal(claims.selected_roleid, role)

    // The token exchange: string-typed numbers and what was issued.
    const exchanged = await app.exchange(idToken)
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body))
    const body = exchanged.body as Record<string, string>
    assert.deepEqual(Object.keys(body), ['access_token', 'expires_in', 'token_type', 'issued_token_type', 'refresh_token', 'refresh_token_expires_in', 'refresh_count'])
    assert.deepEqual(
      { ...body, access_token: undefined, refresh_token: undefined },
      {
        access_token: undefined,
        expires_in: '599',
        token_type: 'Bearer',
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        refresh_token: undefined,
        refresh_token_expires_in: '43199',
        refresh_count: '0',
      },
    )
    // A TOTP sign-in is AAL2: of the application's two PDS scopes, only the aal2 one is kept.
    const held = await careid.context.store.apiGrants.findAccess(sha256(body.access_token as string), Date.now())
    assert.ok(held)
    assert.equal(held.grant.scope, aal2)
    assert.equal(held.grant.pattern, 'token_exchange')
    assert.deepEqual(held.grant.user, { sub: worker.uid, sid: claims.sid, aal: 2, acr: 'AAL2_TOTP', selected_roleid: role })

    // The Patient API, acting in the chosen role.
    const requestId = randomUUID()
    const read = await app.readPatient(body.access_token as string, patient.nhs_number, requestId, role)
    assert.equal(read.status, 200, JSON.stringify(read.body))
    assert.equal(read.headers.get('etag'), `W/"${patient.version}"`)
    assert.equal(read.headers.get('x-request-id'), requestId)
    assert.deepEqual(read.body, patient.resource)
    // Another of the worker's roles is not the one the ID token selected: the platform cannot check it (it holds no userinfo).
    const other = await app.readPatient(body.access_token as string, patient.nhs_number, requestId, worker.positions[0]?.person_roleid)
    assert.equal(other.status, 400)
    assert.deepEqual(issueOf(other.body), { code: 'value', spineCode: 'INVALID_VALUE', diagnostics: roleText(worker.positions[0]?.person_roleid as string) })
  })

  it('a worker with several roles and no selected_roleid, calling without NHSD-Session-URID: PDS\'s 400 INVALID_VALUE', async () => {
    const worker = person('pharm.singh')
    assert.ok(worker.positions.length > 1, 'pharm.singh holds several roles')
    const [, loopback] = loopbacks as [LoopbackRedirect, LoopbackRedirect]
    await context.clearCookies()
    const app = nativeApp()
    const signingIn = app.signIn(loopback, { scope: 'openid profile nationalrbacaccess', acr_values: 'AAL2_TOTP' })
    await workerSignsIn(worker, loopback)
    const { idToken, claims } = await signingIn
    assert.equal(claims.sub, worker.uid)
    assert.equal(claims.selected_roleid, undefined, 'no role was asked for')

    const exchanged = await app.exchange(idToken)
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body))
    const requestId = randomUUID()
    const read = await app.readPatient(exchanged.body.access_token as string, patient.nhs_number, requestId)
    assert.equal(read.status, 400)
    assert.equal(read.headers.get('x-request-id'), requestId)
    assert.equal(read.headers.get('content-type'), 'application/fhir+json; charset=utf-8')
    assert.deepEqual(read.body, {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'value',
          details: { coding: [{ system: 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode', version: '1', code: 'INVALID_VALUE', display: 'Provided value is invalid' }] },
          diagnostics: roleText(''),
        },
      ],
    })
  })
})

/** The one issue of an OperationOutcome: its code, Spine code and diagnostics. */
function issueOf(body: Record<string, unknown>): { code: unknown; spineCode: unknown; diagnostics: unknown } {
  const issue = (body as { issue: Array<{ code: string; diagnostics: string; details: { coding: Array<{ code: string }> } }> }).issue
  assert.equal(issue.length, 1)
  return { code: issue[0]?.code, spineCode: issue[0]?.details.coding[0]?.code, diagnostics: issue[0]?.diagnostics }
}
