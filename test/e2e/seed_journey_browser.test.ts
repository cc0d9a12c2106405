/**
 * The seed's journey, whole, in headless Chromium (issue 17; cis2.md 5.2, 6.2, 6.4, 6.6, 6.7;
 * architecture.md section 4): a worker signs in at the Identity Agent with card, passcode and a
 * role; a server-side browser application on a third origin uses the API Platform's combined
 * pattern, and the browser only ever sees redirects from Careid (the platform's authorize, CIS2's
 * authorize and journey, the agent's handoff, the platform's callback: no Careid page, not even
 * one that submits itself); the application gets the platform's tokens, searches for a patient and
 * reads it with `NHSD-Session-URID` naming the role chosen at the agent. Then the card is removed:
 * CIS2 ends the session, its back-channel logout reaches the platform, and the platform's tokens
 * stop working (the next read is PDS's 401, the refresh token is refused).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { registerApplication } from '@careid/apim'
import { issueVirtualCard, openCardAuthority, writeCardFile } from '@careid/cards'
import { demoWorkforce } from '@careid/domain'
import { generatePopulation, PDS_BASE_PATH } from '@careid/pds'
import type { AeadSecretBox, ApplicationRecord, PatientRecord } from '@careid/ports'
import { startAgentProcess, type AgentProcess } from '../support/agent.ts'
import { freePort, startTestCareid, type TestCareid } from '../support/careid.ts'
import { launchChromium } from '../support/chromium.ts'
import { runCareid } from '../support/cli.ts'
import { startPlatformWebApp, type PlatformWebApp } from '../support/platform_web_app.ts'
import { chromium, requires } from '../support/system_packages.ts'

const pdsScope = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
const outcomeSystem = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode'

interface Seen {
  url: string
  status: number
  contentType: string
  contentLength: string | undefined
  location: string | undefined
}

/**
 * A patient of the population startTestCareid seeds (generatePopulation, 100 records, the default
 * seed) whom a search by family name and birth date finds alone: active, unrestricted, at version 1.
 */
function knownPatient(): PatientRecord & { familyName: string } {
  const active = generatePopulation({ size: 100 }).records.filter((r) => r.status === 'active')
  for (const record of active) {
    const familyName = (record.resource['name'] as { family: string }[])[0]!.family
    if (record.restricted || record.version !== 1 || !/^[A-Za-z]+$/.test(familyName)) continue
    if (active.filter((other) => other.family === record.family && other.birth_date === record.birth_date).length === 1) return { ...record, familyName }
  }
  throw new Error('the seeded population has no patient a search finds alone')
}

describe('the seed\'s journey: card sign-in at the agent, the combined pattern in Chromium, the Patient API, and the card removed', requires(chromium), () => {
  const person = demoWorkforce.find((p) => p.username === 'dr.patel')
  assert.ok(person && person.positions.length === 3, 'dr.patel holds three roles')
  const chosen = person.positions[1]?.person_roleid as string
  const notTheirs = demoWorkforce.find((p) => p.username === 'nurse.jones')?.positions[0]?.person_roleid as string
  assert.ok(notTheirs !== undefined && !person.positions.some((p) => p.person_roleid === notTheirs))
  const passcode = '736105'
  const patient = knownPatient()
  let careid: TestCareid
  let application: ApplicationRecord
  let secret: string
  let app: PlatformWebApp
  let agent: AgentProcess
  let agentOrigin: string
  let work: string
  let context: BrowserContext
  let page: Page
  const problems: string[] = []

  before(async () => {
    const agentPort = await freePort()
    agentOrigin = `http://127.0.0.1:${agentPort}`
    // Every workstation runs the agent: the first CIS2 journey of a fresh browser is handed off.
    careid = await startTestCareid({ config: { agentOrigin, agentHandoff: 'always' } })
    work = mkdtempSync(join(tmpdir(), 'careid-seed-'))

    // The application, registered with the platform as in the developer portal, on a third origin.
    const appPort = await freePort()
    const registered = registerApplication({ name: 'Clinical app', callback_urls: [`http://127.0.0.1:${appPort}/callback`], scopes: [pdsScope] }, Date.now())
    application = registered.application
    secret = registered.secret
    await careid.context.store.apps.put(application)
    app = await startPlatformWebApp({
      apiOrigin: careid.apiOrigin,
      apiKey: application.api_key,
      secret,
      roleId: () => chosen,
      patient: { family: patient.familyName, birthDate: patient.birth_date },
      port: appPort,
    })

    // The worker's card, and the agent it is inserted in.
    const store = careid.context.store
    const authority = await openCardAuthority({ cards: store.cards, people: store.people, secrets: careid.context.secrets as AeadSecretBox })
    const { file } = await issueVirtualCard({ authority, uid: person.uid, passcode, now: Date.now() })
    await writeCardFile(join(work, 'card.json'), file)
    const inserted = await runCareid(['agent', 'insert', join(work, 'card.json'), '--agent-dir', join(work, 'agent')])
    assert.equal(inserted.code, 0, inserted.stderr)
    agent = startAgentProcess(['--provider', careid.issuer, '--port', String(agentPort), '--agent-dir', join(work, 'agent')])

    ;({ context, page } = await launchChromium(mkdtempSync(join(work, 'chromium-'))))
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${page.url()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`))
  })
  after(async () => {
    await context?.close()
    await agent?.stop()
    await app?.close()
    await careid?.close()
    if (work !== undefined) rmSync(work, { recursive: true, force: true })
  })

  it('reaches the patient through redirects only, with the role chosen at the agent; removing the card revokes the platform tokens', async () => {
    // 1. At the agent: card, passcode, role.
    await agent.waitFor('Passcode for the card of ' + person.uid, 1, 60_000)
    agent.type(passcode)
    await agent.waitFor('Role [1-3]', 1, 60_000)
    const listed = agent.stdout().split('\n').filter((l) => /^\s+\d\. /.test(l))
    const index = listed.findIndex((l) => l.includes(`[${chosen}]`))
    assert.ok(index >= 0, `the role ${chosen} is offered:\n${listed.join('\n')}`)
    agent.type(String(index + 1))
    await agent.waitFor('Signed in as ' + person.uid, 1, 60_000)

    // 2. In the browser: the application starts the combined pattern; every response is recorded.
    const seen: Seen[] = []
    page.on('response', (response) => {
      const headers = response.headers()
      seen.push({ url: response.url(), status: response.status(), contentType: headers['content-type'] ?? '', contentLength: headers['content-length'], location: headers['location'] })
    })
    await page.goto(app.startUrl, { timeout: 60_000 })
    await page.waitForURL((u) => u.href.startsWith(app.callbackUrl), { timeout: 60_000 })
    const heading = await page.textContent('h1')
    const name = (patient.resource['name'] as { given: string[]; family: string }[])[0]!
    assert.equal(heading, `Patient: ${[...name.given, name.family].join(' ')}`, 'the application shows the patient it read')
    assert.deepEqual(problems, [], 'no CSP violation or script error on the way')

    const route = seen.map((s) => `${s.status} ${new URL(s.url).origin}${new URL(s.url).pathname}`)
    const careidOrigins = [careid.origin, careid.apiOrigin]
    const fromCareid = seen.filter((s) => careidOrigins.includes(new URL(s.url).origin))
    for (const response of fromCareid) {
      assert.ok([302, 303].includes(response.status), `every Careid response is a redirect:\n${route.join('\n')}`)
      assert.equal(response.contentType.includes('text/html'), false, `no Careid response is an HTML document:\n${route.join('\n')}`)
      // A redirect's body is not given to the page: its length says none was sent.
      assert.equal(response.contentLength, '0', `no Careid response has a body:\n${route.join('\n')}`)
    }
    const issuerPath = new URL(careid.issuer).pathname
    assert.deepEqual(
      route.map((r) => r.replace(/\/interaction\/[^/]+/, '/interaction/:id')),
      [
        `302 ${app.origin}/start`,
        `302 ${careid.apiOrigin}/oauth2/authorize`,
        `302 ${careid.origin}${issuerPath}/authorize`,
        `302 ${careid.origin}${issuerPath}/interaction/:id`,
        `302 ${agentOrigin}/handoff`,
        `302 ${careid.origin}${issuerPath}/interaction/:id/smartcard/return`,
        `302 ${careid.apiOrigin}/oauth2/callback`,
        `200 ${app.origin}/callback`,
      ],
      'the application, the platform, CIS2, the agent, CIS2 again, the platform, the application',
    )
    assert.equal((agent.stdout().match(/Passcode for the card/g) ?? []).length, 1, 'the browser journey asked for no passcode')
    // The platform called CIS2 with max_age=300 and the default acr_values (cis2.md 6.2 step 2).
    const toCis2 = new URL(seen[1]!.location as string)
    assert.equal(toCis2.searchParams.get('max_age'), '300')
    assert.equal(toCis2.searchParams.get('acr_values'), 'AAL3_ANY')

    // 3. What the application received: the platform's token response, every number a string.
    assert.equal(app.journeys.length, 1)
    const journey = app.journeys[0]!
    assert.equal(journey.token.status, 200)
    const tokens = journey.token.body
    assert.deepEqual(Object.keys(tokens), ['access_token', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'refresh_count', 'token_type', 'sid'])
    assert.equal(tokens['expires_in'], '599')
    assert.equal(tokens['refresh_token_expires_in'], '43199')
    assert.equal(tokens['refresh_count'], '0')
    assert.equal(tokens['token_type'], 'Bearer')
    for (const key of ['access_token', 'refresh_token', 'sid']) assert.equal(typeof tokens[key], 'string', key)
    const accessToken = tokens['access_token'] as string
    const refreshToken = tokens['refresh_token'] as string

    // The search: one exact match, the patient, with the role accepted.
    const { search, read } = journey
    assert.ok(search && read)
    assert.equal(search.status, 200)
    assert.equal(search.headers['content-type'], 'application/fhir+json; charset=utf-8')
    assert.equal(search.headers['x-request-id'], search.requestId)
    const bundle = search.body as { resourceType: string; type: string; total: number; entry: { fullUrl: string; search: { score: number }; resource: { id: string } }[] }
    assert.equal(bundle.resourceType, 'Bundle')
    assert.equal(bundle.type, 'searchset')
    assert.equal(bundle.total, 1)
    assert.equal(bundle.entry.length, 1)
    assert.equal(bundle.entry[0]!.fullUrl, `${careid.apiOrigin}${PDS_BASE_PATH}/Patient/${patient.nhs_number}`)
    assert.deepEqual(bundle.entry[0]!.search, { score: 1 })
    assert.equal(bundle.entry[0]!.resource.id, patient.nhs_number)

    // The read by NHS number: the resource, its version as the ETag.
    assert.equal(read.status, 200)
    assert.equal(read.headers['etag'], 'W/"1"')
    assert.equal(read.headers['x-request-id'], read.requestId)
    const resource = read.body as { resourceType: string; id: string; identifier: { value: string }[]; birthDate: string }
    assert.equal(resource.resourceType, 'Patient')
    assert.equal(resource.id, patient.nhs_number)
    assert.equal(resource.identifier[0]!.value, patient.nhs_number)
    assert.equal(resource.birthDate, patient.birth_date)

    // 4. A role that is not the worker's: PDS's 400, naming the header's value.
    const wrongRole = await app.callPatientApi(`/Patient/${patient.nhs_number}`, accessToken, notTheirs)
    assert.equal(wrongRole.status, 400)
    assert.equal(wrongRole.headers['x-request-id'], wrongRole.requestId)
    assert.deepEqual(wrongRole.body, {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'value',
          details: { coding: [{ system: outcomeSystem, version: '1', code: 'INVALID_VALUE', display: 'Provided value is invalid' }] },
          diagnostics: `Invalid value - '${notTheirs}' in header 'NHSD-Session-URID'. Refer to the guidance for this header in our API Specification https://digital.nhs.uk/developer/api-catalogue/personal-demographics-service-fhir`,
        },
      ],
    })
    // The worker's own role is still accepted: the refusal changed nothing.
    assert.equal((await app.callPatientApi(`/Patient/${patient.nhs_number}`, accessToken, chosen)).status, 200)

    // 5. The card is removed: the agent ends the card session, CIS2 its session, and CIS2's
    // back-channel logout reaches the platform, which revokes every token of that sid.
    const ejected = await runCareid(['agent', 'eject', '--agent-dir', join(work, 'agent')])
    assert.equal(ejected.code, 0, ejected.stderr)
    await agent.waitFor('Card removed: signed out', 1, 60_000)
    const deadline = Date.now() + 60_000
    let after = await app.callPatientApi(`/Patient/${patient.nhs_number}`, accessToken, chosen)
    while (after.status === 200 || after.status === 429) {
      assert.ok(Date.now() < deadline, 'the platform revoked the tokens within 60 s of the card being removed')
      // Polled within the application's rate limit (5 calls a second); should the calls before
      // the card was removed share a window with these, the application waits as told.
      const wait = after.status === 429 ? Number(after.headers['retry-after']) * 1000 : 300
      await new Promise((resolve) => setTimeout(resolve, wait))
      after = await app.callPatientApi(`/Patient/${patient.nhs_number}`, accessToken, chosen)
    }
    assert.equal(after.status, 401)
    assert.equal(after.headers['x-request-id'], after.requestId)
    assert.deepEqual(after.body, {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'forbidden',
          details: { coding: [{ system: outcomeSystem, version: '1', code: 'ACCESS_DENIED', display: 'Access Denied - Unauthorised' }] },
          diagnostics: 'Invalid Access Token',
        },
      ],
    })

    // The refresh token is refused too: the grant is gone, not just its access token.
    const refreshed = await fetch(`${careid.apiOrigin}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: application.api_key, client_secret: secret }),
    })
    assert.equal(refreshed.status, 401)
    const refusal = (await refreshed.json()) as Record<string, unknown>
    assert.equal(typeof refusal['message_id'], 'string')
    assert.deepEqual({ ...refusal, message_id: undefined }, { error: 'invalid_grant', error_description: 'refresh_token is invalid', message_id: undefined })
  })
})
