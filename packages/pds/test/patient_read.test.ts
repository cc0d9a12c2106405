import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { application, assertOutcome, openApi, pick, read, type ApiFixture, type Json } from './api_support.ts'

describe('GET /Patient/{id}', () => {
  let fixture: ApiFixture
  before(async () => {
    fixture = await openApi()
  })
  after(() => fixture.store.close())

  it('answers the patient as FHIR JSON with a weak ETag of its version', async () => {
    const patient = pick(fixture, (r) => r.status === 'active' && !r.restricted && r.version > 1)
    const response = await read(fixture, patient.nhs_number)
    assert.equal(response.status, 200)
    assert.equal(response.headers?.['content-type'], 'application/fhir+json')
    assert.equal(response.headers?.['etag'], `W/"${patient.version}"`)
    assert.deepStrictEqual(response.json, patient.resource)
  })

  it('is open to application-restricted callers too', async () => {
    const response = await read(fixture, '9000000009', application)
    assert.equal(response.status, 200)
    assert.equal((response.json as Json)['id'], '9000000009')
  })

  it('removes a restricted patient\'s address, telecom, contact and GP, keeping meta.security', async () => {
    const patient = pick(fixture, (r) => r.status === 'active' && r.restricted && (r.resource as Json)['contact'] !== undefined)
    const response = await read(fixture, patient.nhs_number)
    assert.equal(response.status, 200)
    const { address: _a, telecom: _t, contact: _c, generalPractitioner: _g, ...kept } = patient.resource
    assert.deepStrictEqual(response.json, kept)
    const shown = response.json as Json
    for (const field of ['address', 'telecom', 'contact', 'generalPractitioner']) assert.equal(field in shown, false, field)
    assert.deepStrictEqual((shown['meta'] as Json)['security'], [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R', display: 'restricted' }])
  })

  it('answers a merged number with the surviving record (another id)', async () => {
    const merged = pick(fixture, (r) => r.status === 'merged')
    const survivor = fixture.records.find((r) => r.nhs_number === merged.superseded_by)!
    const response = await read(fixture, merged.nhs_number)
    assert.equal(response.status, 200)
    assert.equal((response.json as Json)['id'], survivor.nhs_number)
    assert.notEqual(survivor.nhs_number, merged.nhs_number)
    assert.equal(response.headers?.['etag'], `W/"${survivor.version}"`)
  })

  it('400 INVALID_RESOURCE_ID for a number failing the modulus 11 check', async () => {
    assertOutcome(await read(fixture, '9000000000'), 400, { severity: 'error', code: 'value', spineCode: 'INVALID_RESOURCE_ID', display: 'Resource Id is invalid' })
  })

  it('400 INVALID_RESOURCE_ID for an id that is not ten digits', async () => {
    assertOutcome(await read(fixture, 'abc'), 400, { severity: 'error', code: 'value', spineCode: 'INVALID_RESOURCE_ID', display: 'Resource Id is invalid' })
  })

  it('404 RESOURCE_NOT_FOUND, severity information, for a valid number nobody has', async () => {
    assertOutcome(await read(fixture, '9111231130'), 404, { severity: 'information', code: 'not-found', spineCode: 'RESOURCE_NOT_FOUND', display: 'Resource not found' })
  })

  it('404 INVALIDATED_RESOURCE for an invalidated record', async () => {
    const invalidated = pick(fixture, (r) => r.status === 'invalidated')
    assertOutcome(await read(fixture, invalidated.nhs_number), 404, {
      severity: 'error',
      code: 'processing',
      spineCode: 'INVALIDATED_RESOURCE',
      display: 'Resource that has been marked as invalid was requested - invalid resources cannot be retrieved',
    })
  })
})
