/**
 * The Patient API behind the real gateway, over HTTP on the service server: a platform token
 * issued into the store, the gateway's checks, PDS's own answers to its refusals, and what travels
 * on the wire (repeated query parameters, a JSON Patch body, FHIR JSON, the ETag, echoed ids).
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { gatewayRoutes } from '@careid/apim'
import { buildServiceServer } from '@careid/http'
import { randomToken, sha256 } from '@careid/oidc'
import type { ApiGrantUser } from '@careid/ports'
import { NOW, openApi, REQUEST_ID, type ApiFixture } from './api_support.ts'

const ROLE = '555254242105'
const SYSTEM = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode'
const FHIR_JSON = 'application/fhir+json; charset=utf-8'

describe('the Patient API behind the gateway, over HTTP', () => {
  let fixture: ApiFixture
  let app: FastifyInstance
  let base: string
  /** Issues a platform access token straight into the store. */
  const issue = async (scope: string, user: ApiGrantUser | undefined): Promise<string> => {
    const grantId = randomUUID()
    const token = randomToken(32)
    await fixture.store.apiGrants.issue(
      {
        grant_id: grantId,
        api_key: randomToken(16),
        pattern: user === undefined ? 'client_credentials' : 'combined',
        scope,
        user,
        authenticated_at: NOW,
        refresh_until: NOW + 3_600_000,
        created_at: NOW,
        expires_at: NOW + 599_000,
      },
      [{ token_hash: sha256(token), grant_id: grantId, kind: 'access', refresh_count: 0, created_at: NOW, expires_at: NOW + 599_000 }],
    )
    return token
  }
  let workerToken: string
  let twoRolesToken: string
  let applicationToken: string

  before(async () => {
    fixture = await openApi()
    // A generous rate limit: these tests are not about it.
    const routes = gatewayRoutes([fixture.api], { store: fixture.store, now: () => NOW, rateLimit: { perSecond: 1000 } })
    app = await buildServiceServer({ routes, baseUrl: 'http://127.0.0.1/' })
    base = `${await app.listen({ host: '127.0.0.1', port: 0 })}/personal-demographics/FHIR/R4`
    const worker = (roleIds: string[]): ApiGrantUser => ({ sub: '910000000001', sid: `sid-${randomUUID()}`, aal: 3, acr: 'AAL3_ANY', role_ids: roleIds })
    workerToken = await issue('urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service', worker([ROLE]))
    twoRolesToken = await issue('urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service', worker([ROLE, '555254242106']))
    applicationToken = await issue('urn:nhsd:apim:app:level3:personal-demographics-service', undefined)
  })
  after(async () => {
    await app.close()
    await fixture.store.close()
  })
  const headers = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, 'x-request-id': REQUEST_ID, 'x-correlation-id': 'corr-7', ...extra })

  it('reads a patient as FHIR JSON with its ETag and the request ids echoed', async () => {
    const response = await fetch(`${base}/Patient/9000000009`, { headers: headers(workerToken) })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), FHIR_JSON)
    const record = fixture.records.find((r) => r.nhs_number === '9000000009')!
    assert.equal(response.headers.get('etag'), `W/"${record.version}"`)
    assert.equal(response.headers.get('x-request-id'), REQUEST_ID)
    assert.equal(response.headers.get('x-correlation-id'), 'corr-7')
    assert.deepStrictEqual(await response.json(), record.resource)
  })

  it('searches with a birthdate range given as a repeated parameter', async () => {
    const response = await fetch(`${base}/Patient?family=Watson&birthdate=ge1953-02-01&birthdate=le1953-02-28&gender=female`, { headers: headers(workerToken) })
    assert.equal(response.status, 200)
    const bundle = (await response.json()) as { entry: { resource: { id: string }; search: { score: number } }[] }
    assert.deepStrictEqual(bundle.entry.map((e) => [e.resource.id, e.search.score]), [['9000000009', 1]])
  })

  it('gives an application-restricted caller a single unique match', async () => {
    const response = await fetch(`${base}/Patient?family=Watson&birthdate=1953-02-10`, { headers: headers(applicationToken) })
    assert.equal(response.status, 200)
    assert.deepStrictEqual(((await response.json()) as { entry: { resource: { id: string } }[] }).entry.map((e) => e.resource.id), ['9000000009'])
  })

  it('patches with application/json-patch+json and If-Match, then reads the new version', async () => {
    const record = fixture.records.find((r) => r.nhs_number === '9000000017')!
    const patched = await fetch(`${base}/Patient/9000000017`, {
      method: 'PATCH',
      headers: headers(workerToken, { 'content-type': 'application/json-patch+json', 'if-match': `W/"${record.version}"` }),
      body: JSON.stringify({ patches: [{ op: 'replace', path: '/name/0/given/0', value: 'Fiona' }] }),
    })
    assert.equal(patched.status, 200)
    assert.equal(patched.headers.get('etag'), `W/"${record.version + 1}"`)
    const reread = await fetch(`${base}/Patient/9000000017`, { headers: headers(workerToken) })
    assert.equal(reread.headers.get('etag'), `W/"${record.version + 1}"`)
    assert.equal(((await reread.json()) as { name: { given: string[] }[] }).name[0]!.given[0], 'Fiona')
  })

  it('answers the API\'s own errors as OperationOutcomes in FHIR JSON, ids echoed', async () => {
    const response = await fetch(`${base}/Patient/9000000000`, { headers: headers(workerToken) })
    assert.equal(response.status, 400)
    assert.equal(response.headers.get('content-type'), FHIR_JSON)
    assert.equal(response.headers.get('x-request-id'), REQUEST_ID)
    assert.deepStrictEqual(await response.json(), {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'value', details: { coding: [{ system: SYSTEM, version: '1', code: 'INVALID_RESOURCE_ID', display: 'Resource Id is invalid' }] } }],
    })
  })

  it('answers a worker with several roles and no NHSD-Session-URID with PDS\'s 400, not the shared flow\'s 401', async () => {
    const response = await fetch(`${base}/Patient/9000000009`, { headers: headers(twoRolesToken) })
    assert.equal(response.status, 400)
    assert.equal(response.headers.get('x-correlation-id'), 'corr-7')
    assert.deepStrictEqual(await response.json(), {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'value',
          details: { coding: [{ system: SYSTEM, version: '1', code: 'INVALID_VALUE', display: 'Provided value is invalid' }] },
          diagnostics:
            "Invalid value - '' in header 'NHSD-Session-URID'. Refer to the guidance for this header in our API Specification https://digital.nhs.uk/developer/api-catalogue/personal-demographics-service-fhir",
        },
      ],
    })
  })

  it('answers a missing token with PDS\'s 401 ACCESS_DENIED', async () => {
    const response = await fetch(`${base}/Patient/9000000009`, { headers: { 'x-request-id': REQUEST_ID } })
    assert.equal(response.status, 401)
    assert.deepStrictEqual(await response.json(), {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'forbidden',
          details: { coding: [{ system: SYSTEM, version: '1', code: 'ACCESS_DENIED', display: 'Access Denied - Unauthorised' }] },
          diagnostics: 'Missing Authorization header',
        },
      ],
    })
  })
})
