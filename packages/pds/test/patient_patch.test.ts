import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { PatientRecord, PatientStore } from '@careid/ports'
import { patientApi, patientRecord } from '../src/index.ts'
import { application, assertOutcome, openApi, pick, read, request, route, worker, type ApiFixture, type Json, type RequestParts } from './api_support.ts'

const JSON_PATCH = 'application/json-patch+json'

describe('PATCH /Patient/{id}', () => {
  let fixture: ApiFixture
  /** Each test patches a patient of its own, so that versions do not interfere. */
  const used = new Set<string>()
  const fresh = (test: (r: PatientRecord) => boolean = () => true): PatientRecord => {
    const record = pick(fixture, (r) => r.status === 'active' && !r.restricted && !used.has(r.nhs_number) && test(r))
    used.add(record.nhs_number)
    return record
  }
  const patch = (id: string, parts: RequestParts, caller = worker) =>
    route(fixture.api, 'PATCH', '/Patient/:id').handle(request('PATCH', `/Patient/${id}`, { params: { id }, contentType: JSON_PATCH, ...parts }), caller)
  const ifMatch = (version: number) => ({ 'if-match': `W/"${version}"` })
  const invalidUpdate = (diagnostics: string) => ({ severity: 'error', code: 'structure', spineCode: 'INVALID_UPDATE', display: 'Update is invalid', diagnostics })
  /** Asserts the stored record is still `record`, untouched. */
  const unchanged = async (record: PatientRecord) => assert.deepStrictEqual(await fixture.store.patients.get(record.nhs_number), record)

  before(async () => {
    fixture = await openApi()
  })
  after(() => fixture.store.close())

  it('applies the patches, stores version + 1 with its search columns, and answers the resource with the new ETag', async () => {
    const record = fresh()
    const response = await patch(record.nhs_number, {
      headers: ifMatch(record.version),
      body: { patches: [{ op: 'replace', path: '/name/0/family', value: 'Okonkwo' }, { op: 'replace', path: '/birthDate', value: '1970-01-02' }] },
    })
    assert.equal(response.status, 200)
    assert.equal(response.headers?.['content-type'], 'application/fhir+json')
    assert.equal(response.headers?.['etag'], `W/"${record.version + 1}"`)
    const resource = response.json as Json
    assert.equal((resource['meta'] as Json)['versionId'], String(record.version + 1))
    assert.equal(((resource['name'] as Json[])[0]!)['family'], 'Okonkwo')
    assert.equal(resource['birthDate'], '1970-01-02')
    const stored = await fixture.store.patients.get(record.nhs_number)
    assert.deepStrictEqual(stored, patientRecord(resource as never))
    assert.equal(stored?.version, record.version + 1)
    assert.equal(stored?.family_phonetic, 'O252')
    // The read sees the new version and its ETag.
    const reread = await read(fixture, record.nhs_number)
    assert.equal(reread.headers?.['etag'], `W/"${record.version + 1}"`)
    assert.deepStrictEqual(reread.json, resource)
  })

  it('takes a bare RFC 6902 array as the body too', async () => {
    const record = fresh()
    const response = await patch(record.nhs_number, { headers: ifMatch(record.version), body: [{ op: 'add', path: '/telecom/-', value: { system: 'email', value: 'a@example.com', use: 'home' } }] })
    assert.equal(response.status, 200)
    assert.deepStrictEqual(((response.json as Json)['telecom'] as Json[]).at(-1), { system: 'email', value: 'a@example.com', use: 'home' })
  })

  it('409 RESOURCE_VERSION_MISMATCH for a stale If-Match, storing nothing', async () => {
    const record = fresh()
    const response = await patch(record.nhs_number, { headers: ifMatch(record.version - 1 || record.version + 1), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } })
    assertOutcome(response, 409, { severity: 'error', code: 'conflict', spineCode: 'RESOURCE_VERSION_MISMATCH', display: 'Resource version supplied does not match actual version' })
    await unchanged(record)
  })

  it('of two writers with the same If-Match, one wins and the other is told its version is stale', async () => {
    const record = fresh()
    const body = (value: string) => ({ patches: [{ op: 'replace', path: '/gender', value }] })
    const [first, second] = await Promise.all([
      patch(record.nhs_number, { headers: ifMatch(record.version), body: body('other') }),
      patch(record.nhs_number, { headers: ifMatch(record.version), body: body('unknown') }),
    ])
    const statuses = [first.status, second.status].sort()
    assert.deepStrictEqual(statuses, [200, 409])
    const winner = first.status === 200 ? first : second
    const loser = first.status === 200 ? second : first
    assertOutcome(loser, 409, { severity: 'error', code: 'conflict', spineCode: 'RESOURCE_VERSION_MISMATCH', display: 'Resource version supplied does not match actual version' })
    const stored = await fixture.store.patients.get(record.nhs_number)
    assert.equal(stored?.version, record.version + 1)
    assert.equal(stored?.gender, (winner.json as Json)['gender'])
  })

  it('a writer that stores between our read and our write wins, and we answer 409 without storing', async () => {
    const record = fresh()
    const inner = fixture.store.patients
    // The other writer stores its version right after this API has read the record.
    const racing: PatientStore = {
      ...inner,
      get: async (nhsNumber) => {
        const read = await inner.get(nhsNumber)
        if (read !== undefined) {
          const other = { ...read.resource, gender: 'unknown', meta: { ...(read.resource['meta'] as Json), versionId: String(read.version + 1) } }
          assert.equal(await inner.update(nhsNumber, read.version, patientRecord(other as never)), true)
        }
        return read
      },
      update: (...args) => inner.update(...args),
      search: (criteria) => inner.search(criteria),
      putMany: (records) => inner.putMany(records),
      count: () => inner.count(),
    }
    const api = patientApi({ patients: racing, now: () => 0 })
    const response = await route(api, 'PATCH', '/Patient/:id').handle(
      request('PATCH', `/Patient/${record.nhs_number}`, { params: { id: record.nhs_number }, contentType: JSON_PATCH, headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }),
      worker,
    )
    assertOutcome(response, 409, { severity: 'error', code: 'conflict', spineCode: 'RESOURCE_VERSION_MISMATCH', display: 'Resource version supplied does not match actual version' })
    const stored = await inner.get(record.nhs_number)
    assert.equal(stored?.version, record.version + 1)
    assert.equal(stored?.gender, 'unknown')
  })

  it('412 PRECONDITION_FAILED without If-Match', async () => {
    const record = fresh()
    assertOutcome(await patch(record.nhs_number, { body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }), 412, {
      severity: 'error',
      code: 'structure',
      spineCode: 'PRECONDITION_FAILED',
      display: 'Required condition was not fulfilled',
      diagnostics: 'Invalid request with error - If-Match header must be supplied to update this resource',
    })
    await unchanged(record)
  })

  it('checks If-Match before looking the patient up, as PDS does', async () => {
    assertOutcome(await patch('9111231130', { body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }), 412, {
      severity: 'error',
      code: 'structure',
      spineCode: 'PRECONDITION_FAILED',
      display: 'Required condition was not fulfilled',
      diagnostics: 'Invalid request with error - If-Match header must be supplied to update this resource',
    })
  })

  it('412 PRECONDITION_FAILED for an If-Match not of the form W/"<version>"', async () => {
    const record = fresh()
    assertOutcome(await patch(record.nhs_number, { headers: { 'if-match': String(record.version) }, body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }), 412, {
      severity: 'error',
      code: 'structure',
      spineCode: 'PRECONDITION_FAILED',
      display: 'Required condition was not fulfilled',
      diagnostics: 'Invalid request with error - If-Match header must be supplied to update this resource',
    })
  })

  it('400 UNSUPPORTED_SERVICE for another content type', async () => {
    const record = fresh()
    const response = await patch(record.nhs_number, { contentType: 'text/plain', headers: ifMatch(record.version), body: { patches: [] } })
    assertOutcome(response, 400, { severity: 'error', code: 'processing', spineCode: 'UNSUPPORTED_SERVICE', display: 'Unsupported Service' })
  })

  it('400 INVALID_UPDATE when no patches are sent', async () => {
    const record = fresh()
    for (const body of [{}, { patches: [] }, undefined]) {
      assertOutcome(await patch(record.nhs_number, { headers: ifMatch(record.version), body }), 400, invalidUpdate('Invalid update with error - No patches found'))
    }
    await unchanged(record)
  })

  it('400 INVALID_VALUE for an operation PDS does not take', async () => {
    const record = fresh()
    assertOutcome(await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }, { op: 'move', from: '/gender', path: '/x' }] } }), 400, {
      severity: 'error',
      code: 'value',
      spineCode: 'INVALID_VALUE',
      display: 'Provided value is invalid',
      diagnostics: "Invalid value - 'move' in field '1/op'",
    })
    await unchanged(record)
  })

  for (const path of ['/id', '/meta/versionId', '/meta/security/0/code', '/resourceType', '/identifier/0/value']) {
    it(`400 INVALID_UPDATE for a patch of ${path}`, async () => {
      const record = fresh()
      assertOutcome(
        await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path, value: 'X' }] } }),
        400,
        invalidUpdate('Invalid update with error - This user does not have permission to update the fields in the patches provided.'),
      )
      await unchanged(record)
    })
  }

  it('400 INVALID_UPDATE for a path that does not exist', async () => {
    const record = fresh()
    assertOutcome(
      await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/address/5/line', value: ['x'] }] } }),
      400,
      invalidUpdate('Invalid update with error - Invalid patch - Cannot perform the operation at a path that does not exist'),
    )
    await unchanged(record)
  })

  it('400 INVALID_UPDATE for a failed test operation, storing nothing', async () => {
    const record = fresh()
    assertOutcome(
      await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }, { op: 'test', path: '/birthDate', value: '1800-01-01' }] } }),
      400,
      invalidUpdate('Invalid update with error - Invalid patch - Test operation failed'),
    )
    await unchanged(record)
  })

  it('400 INVALID_UPDATE when the result is not a valid R4 Patient (a malformed date)', async () => {
    const record = fresh()
    assertOutcome(
      await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/birthDate', value: '20101022' }] } }),
      400,
      invalidUpdate("Invalid update with error - Invalid date format in field 'birthDate'"),
    )
    await unchanged(record)
  })

  it('400 INVALID_UPDATE when the result has an element R4 does not define', async () => {
    const record = fresh()
    assertOutcome(
      await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'add', path: '/pets', value: ['cat'] }] } }),
      400,
      invalidUpdate('Invalid update with error - Invalid additional property "pets" in field \'pets\''),
    )
    await unchanged(record)
  })

  it('400 INVALID_UPDATE for a gender outside administrative-gender', async () => {
    const record = fresh()
    assertOutcome(
      await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/gender', value: 'cat' }] } }),
      400,
      invalidUpdate("Invalid update with error - Invalid value - 'cat' in field 'gender'"),
    )
    await unchanged(record)
  })

  it('400 INVALID_RESOURCE_ID for an invalid NHS number', async () => {
    assertOutcome(await patch('9000000000', { headers: ifMatch(1), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }), 400, {
      severity: 'error',
      code: 'value',
      spineCode: 'INVALID_RESOURCE_ID',
      display: 'Resource Id is invalid',
    })
  })

  it('404 RESOURCE_NOT_FOUND for an unknown patient', async () => {
    assertOutcome(await patch('9111231130', { headers: ifMatch(1), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }), 404, {
      severity: 'information',
      code: 'not-found',
      spineCode: 'RESOURCE_NOT_FOUND',
      display: 'Resource not found',
    })
  })

  it('404 INVALIDATED_RESOURCE for an invalidated record', async () => {
    const record = pick(fixture, (r) => r.status === 'invalidated')
    assertOutcome(await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }), 404, {
      severity: 'error',
      code: 'processing',
      spineCode: 'INVALIDATED_RESOURCE',
      display: 'Resource that has been marked as invalid was requested - invalid resources cannot be retrieved',
    })
    await unchanged(record)
  })

  it('403 FORBIDDEN_UPDATE for a merged (superseded) number', async () => {
    const record = pick(fixture, (r) => r.status === 'merged')
    assertOutcome(await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }), 403, {
      severity: 'information',
      code: 'forbidden',
      spineCode: 'FORBIDDEN_UPDATE',
      display: 'Update is forbidden',
      diagnostics: 'Forbidden update with error - Update Failed - NHS No. supplied has been superseded in a merge',
    })
    await unchanged(record)
  })

  it('403 FORBIDDEN_UPDATE for a restricted patient', async () => {
    const record = pick(fixture, (r) => r.status === 'active' && r.restricted)
    assertOutcome(await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }), 403, {
      severity: 'information',
      code: 'forbidden',
      spineCode: 'FORBIDDEN_UPDATE',
      display: 'Update is forbidden',
      diagnostics: 'Forbidden update with error - source not permitted to update a restricted patient',
    })
    await unchanged(record)
  })

  it('403 INVALID_METHOD in application-restricted mode', async () => {
    const record = fresh()
    assertOutcome(await patch(record.nhs_number, { headers: ifMatch(record.version), body: { patches: [{ op: 'replace', path: '/gender', value: 'other' }] } }, application), 403, {
      severity: 'error',
      code: 'forbidden',
      spineCode: 'INVALID_METHOD',
      display: 'Cannot update resource with application-restricted access token',
      diagnostics: 'Your app has insufficient permissions to use this method. Please contact support.',
    })
    await unchanged(record)
  })
})
