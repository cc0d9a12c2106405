/**
 * The Patient API over HTTP: its routes on the service server, each handed the caller a gateway
 * would establish (the gateway's own checks are tested with the gateway), so that what travels on
 * the wire is checked: repeated query parameters, a JSON Patch body, FHIR JSON and the ETag.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { ServiceRoute } from '@careid/ports'
import { buildServiceServer } from '@careid/http'
import { openApi, REQUEST_ID, worker, type ApiFixture } from './api_support.ts'

describe('the Patient API over HTTP', () => {
  let fixture: ApiFixture
  let app: FastifyInstance
  let base: string
  before(async () => {
    fixture = await openApi()
    const routes: ServiceRoute[] = fixture.api.routes.map((route) => ({
      method: route.method,
      path: `${fixture.api.basePath}${route.path}`,
      handle: (request) => route.handle(request, worker),
    }))
    app = await buildServiceServer({ routes, baseUrl: 'http://127.0.0.1/' })
    base = `${await app.listen({ host: '127.0.0.1', port: 0 })}/personal-demographics/FHIR/R4`
  })
  after(async () => {
    await app.close()
    fixture.store.close()
  })
  const headers = { 'x-request-id': REQUEST_ID, 'x-correlation-id': 'corr-7' }

  it('reads a patient as application/fhir+json with its ETag and the request ids echoed', async () => {
    const response = await fetch(`${base}/Patient/9000000009`, { headers })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'application/fhir+json; charset=utf-8')
    const record = fixture.records.find((r) => r.nhs_number === '9000000009')!
    assert.equal(response.headers.get('etag'), `W/"${record.version}"`)
    assert.equal(response.headers.get('x-request-id'), REQUEST_ID)
    assert.equal(response.headers.get('x-correlation-id'), 'corr-7')
    assert.deepStrictEqual(await response.json(), record.resource)
  })

  it('searches with a birthdate range given as a repeated parameter', async () => {
    const response = await fetch(`${base}/Patient?family=Watson&birthdate=ge1953-02-01&birthdate=le1953-02-28&gender=female`, { headers })
    assert.equal(response.status, 200)
    const bundle = (await response.json()) as { total: number; entry: { resource: { id: string }; search: { score: number } }[] }
    assert.deepStrictEqual(bundle.entry.map((e) => [e.resource.id, e.search.score]), [['9000000009', 1]])
  })

  it('patches with application/json-patch+json and If-Match, then reads the new version', async () => {
    const record = fixture.records.find((r) => r.nhs_number === '9000000017')!
    const patched = await fetch(`${base}/Patient/9000000017`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/json-patch+json', 'if-match': `W/"${record.version}"` },
      body: JSON.stringify({ patches: [{ op: 'replace', path: '/name/0/given/0', value: 'Fiona' }] }),
    })
    assert.equal(patched.status, 200)
    assert.equal(patched.headers.get('etag'), `W/"${record.version + 1}"`)
    const reread = await fetch(`${base}/Patient/9000000017`, { headers })
    assert.equal(reread.headers.get('etag'), `W/"${record.version + 1}"`)
    assert.deepStrictEqual(((await reread.json()) as { name: { given: string[] }[] }).name[0]!.given[0], 'Fiona')
  })

  it('answers an error as an OperationOutcome in FHIR JSON', async () => {
    const response = await fetch(`${base}/Patient/9000000000`, { headers })
    assert.equal(response.status, 400)
    assert.equal(response.headers.get('content-type'), 'application/fhir+json; charset=utf-8')
    assert.equal(((await response.json()) as { issue: { details: { coding: { code: string }[] } }[] }).issue[0]!.details.coding[0]!.code, 'INVALID_RESOURCE_ID')
  })
})
