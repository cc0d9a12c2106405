import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Patient } from 'fhir/r4.js'
import { CONFIDENTIALITY_SYSTEM, isRestricted, patientRecord } from '../src/patient_record.ts'

describe('patient records', () => {
  const patient: Patient = {
    resourceType: 'Patient',
    id: '9434765919',
    meta: { versionId: '3', security: [{ system: CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' }] },
    name: [
      { use: 'old', family: 'Jones', given: ['Ann'] },
      { use: 'usual', family: "O'Brien", given: ['Zoë', 'Mary'] },
    ],
    gender: 'female',
    birthDate: '1980-02-29',
    address: [
      { use: 'temp', postalCode: 'EX1 1AA' },
      { use: 'home', postalCode: 'ls1 4ap' },
    ],
  }

  it('computes the search columns from the usual name and the home address', () => {
    assert.deepStrictEqual(patientRecord(patient), {
      nhs_number: '9434765919',
      version: 3,
      resource: patient,
      family: 'OBRIEN',
      given: 'ZOE',
      family_phonetic: 'O165',
      birth_date: '1980-02-29',
      gender: 'female',
      postcode: 'LS14AP',
      restricted: true,
      status: 'active',
    })
  })

  it('records a merged patient with the number it was merged into, and leaves out a missing postcode', () => {
    const record = patientRecord({ ...patient, address: [] }, 'merged', '9000000009')
    assert.equal(record.status, 'merged')
    assert.equal(record.superseded_by, '9000000009')
    assert.equal('postcode' in record, false)
  })

  it('treats R and V as restricted, U and other systems as not', () => {
    const labelled = (system: string, code: string): Patient => ({ resourceType: 'Patient', meta: { security: [{ system, code }] } })
    assert.equal(isRestricted(labelled(CONFIDENTIALITY_SYSTEM, 'R')), true)
    assert.equal(isRestricted(labelled(CONFIDENTIALITY_SYSTEM, 'V')), true)
    assert.equal(isRestricted(labelled(CONFIDENTIALITY_SYSTEM, 'U')), false)
    assert.equal(isRestricted(labelled('https://example.com/other', 'R')), false)
    assert.equal(isRestricted({ resourceType: 'Patient' }), false)
  })

  it('refuses a patient without an id', () => {
    assert.throws(() => patientRecord({ resourceType: 'Patient' }), RangeError)
  })
})
