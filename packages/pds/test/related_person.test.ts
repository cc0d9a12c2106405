import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { assertOutcome, BASE, openApi, pick, request, route, worker, type ApiFixture, type Json } from './api_support.ts'

describe('GET /Patient/{id}/RelatedPerson', () => {
  let fixture: ApiFixture
  before(async () => {
    fixture = await openApi()
  })
  after(() => fixture.store.close())
  const related = (id: string) => route(fixture.api, 'GET', '/Patient/:id/RelatedPerson').handle(request('GET', `/Patient/${id}/RelatedPerson`, { params: { id } }), worker)
  const empty = { resourceType: 'Bundle', type: 'searchset', timestamp: '2026-12-06T12:00:00+00:00', total: 0 }

  it('answers the patient\'s contacts as RelatedPerson resources in a searchset Bundle', async () => {
    const record = pick(fixture, (r) => r.status === 'active' && !r.restricted && r.resource['contact'] !== undefined)
    const contact = (record.resource['contact'] as Json[])[0]!
    const response = await related(record.nhs_number)
    assert.equal(response.status, 200)
    assert.equal(response.headers?.['content-type'], 'application/fhir+json')
    assert.deepStrictEqual(response.json, {
      resourceType: 'Bundle',
      type: 'searchset',
      timestamp: '2026-12-06T12:00:00+00:00',
      total: 1,
      entry: [
        {
          fullUrl: `${BASE}/Patient/${record.nhs_number}/RelatedPerson/${record.nhs_number}-contact-1`,
          resource: {
            resourceType: 'RelatedPerson',
            id: `${record.nhs_number}-contact-1`,
            active: true,
            patient: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: record.nhs_number } },
            relationship: contact['relationship'],
            name: [contact['name']],
            telecom: contact['telecom'],
          },
        },
      ],
    })
  })

  it('answers an empty Bundle for a patient without contacts', async () => {
    const record = pick(fixture, (r) => r.status === 'active' && r.resource['contact'] === undefined)
    const response = await related(record.nhs_number)
    assert.equal(response.status, 200)
    assert.deepStrictEqual(response.json, empty)
  })

  it('answers an empty Bundle for a restricted patient, contacts or not', async () => {
    const record = pick(fixture, (r) => r.status === 'active' && r.restricted && r.resource['contact'] !== undefined)
    assert.deepStrictEqual((await related(record.nhs_number)).json, empty)
  })

  it('answers a merged number with the surviving record\'s related people', async () => {
    const merged = pick(fixture, (r) => r.status === 'merged' && !r.restricted)
    const survivor = fixture.records.find((r) => r.nhs_number === merged.superseded_by)!
    const response = await related(merged.nhs_number)
    assert.equal(response.status, 200)
    assert.equal((response.json as Json)['total'], survivor.restricted ? 0 : ((survivor.resource['contact'] as unknown[] | undefined) ?? []).length)
    for (const entry of ((response.json as Json)['entry'] as Json[] | undefined) ?? []) {
      assert.equal(((entry['resource'] as Json)['patient'] as { identifier: { value: string } }).identifier.value, survivor.nhs_number)
    }
  })

  it('400 INVALID_RESOURCE_ID for an invalid NHS number', async () => {
    assertOutcome(await related('9000000000'), 400, { severity: 'error', code: 'value', spineCode: 'INVALID_RESOURCE_ID', display: 'Resource Id is invalid' })
  })

  it('404 RESOURCE_NOT_FOUND for an unknown patient', async () => {
    assertOutcome(await related('9111231130'), 404, { severity: 'information', code: 'not-found', spineCode: 'RESOURCE_NOT_FOUND', display: 'Resource not found' })
  })

  it('404 INVALIDATED_RESOURCE for an invalidated record', async () => {
    const record = pick(fixture, (r) => r.status === 'invalidated')
    assertOutcome(await related(record.nhs_number), 404, {
      severity: 'error',
      code: 'processing',
      spineCode: 'INVALIDATED_RESOURCE',
      display: 'Resource that has been marked as invalid was requested - invalid resources cannot be retrieved',
    })
  })
})
