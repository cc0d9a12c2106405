import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Patient } from 'fhir/r4.js'
import { isValidNhsNumber } from '../src/nhs_number.ts'
import { DEFAULT_POPULATION_SIZE, generatePopulation, NHS_NUMBER_SYSTEM, ODS_ORGANISATION_SYSTEM } from '../src/population.ts'
import { CONFIDENTIALITY_SYSTEM } from '../src/patient_record.ts'
import { normaliseName, normalisePostcode, soundex } from '../src/search_keys.ts'

describe('the synthetic population', () => {
  const { records } = generatePopulation()

  it('holds the default number of patients, each NHS number valid and unique', () => {
    assert.equal(DEFAULT_POPULATION_SIZE, 10_000)
    assert.equal(records.length, DEFAULT_POPULATION_SIZE)
    for (const record of records) assert.ok(isValidNhsNumber(record.nhs_number), record.nhs_number)
    assert.equal(new Set(records.map((r) => r.nhs_number)).size, records.length)
    assert.ok(records.every((r) => r.nhs_number >= '9000000000'))
  })

  it('is the same, byte for byte, for the same seed, and differs for another', () => {
    const again = generatePopulation()
    assert.equal(JSON.stringify(again.records), JSON.stringify(records))
    const other = generatePopulation({ seed: 2 })
    assert.notEqual(JSON.stringify(other.records), JSON.stringify(records))
    assert.equal(generatePopulation({ size: 25 }).records.length, 25)
  })

  it('gives every patient the fields PDS returns, with search columns that match the resource', () => {
    for (const record of records) {
      const patient = record.resource as unknown as Patient
      assert.equal(patient.resourceType, 'Patient')
      assert.equal(patient.id, record.nhs_number)
      assert.deepEqual(patient.identifier, [{ system: NHS_NUMBER_SYSTEM, value: record.nhs_number }])
      assert.equal(patient.meta?.versionId, String(record.version))
      assert.equal(patient.meta?.security?.[0]?.system, CONFIDENTIALITY_SYSTEM)
      assert.equal(patient.meta?.security?.[0]?.code, record.restricted ? 'R' : 'U')
      const name = patient.name![0]!
      assert.equal(name.use, 'usual')
      assert.ok(name.given!.length >= 1 && name.family !== undefined)
      assert.equal(new Set(name.given).size, name.given!.length, `${record.nhs_number}: no given name repeated (${name.given!.join(' ')})`)
      assert.equal(record.family, normaliseName(name.family!))
      assert.equal(record.given, normaliseName(name.given![0]!))
      assert.equal(record.family_phonetic, soundex(name.family!))
      assert.ok(patient.gender === 'female' || patient.gender === 'male')
      assert.equal(record.gender, patient.gender)
      assert.match(patient.birthDate!, /^(19[2-9][0-9]|20[0-2][0-9])-[01][0-9]-[0-3][0-9]$/)
      assert.equal(record.birth_date, patient.birthDate)
      const address = patient.address![0]!
      assert.match(address.postalCode!, /^[A-Z]{1,2}[0-9]{1,2} [0-9][ABDEFGHJLNPQRSTUWXYZ]{2}$/)
      assert.equal(record.postcode, normalisePostcode(address.postalCode!))
      assert.equal(address.line!.length, 3)
      assert.ok(patient.telecom!.length >= 1)
      const gp = patient.generalPractitioner![0]!
      assert.equal(gp.type, 'Organization')
      assert.equal(gp.identifier?.system, ODS_ORGANISATION_SYSTEM)
      assert.match(gp.identifier!.value!, /^[A-Z][0-9]{5}$/)
      if (patient.deceasedDateTime !== undefined) assert.ok(patient.deceasedDateTime.slice(0, 10) >= patient.birthDate!)
    }
  })

  it('includes restricted, deceased, merged and invalidated records and contacts', () => {
    const count = (test: (r: (typeof records)[number]) => boolean) => records.filter(test).length
    assert.ok(count((r) => r.restricted) > 0)
    assert.ok(count((r) => (r.resource as unknown as Patient).deceasedDateTime !== undefined) > 0)
    assert.ok(count((r) => r.status === 'invalidated') > 0)
    assert.ok(count((r) => (r.resource as unknown as Patient).contact !== undefined) > 0)
    const merged = records.filter((r) => r.status === 'merged')
    assert.ok(merged.length > 0)
    const byNumber = new Map(records.map((r) => [r.nhs_number, r]))
    for (const record of merged) {
      const survivor = byNumber.get(record.superseded_by!)
      assert.equal(survivor?.status, 'active')
      assert.deepEqual((record.resource as unknown as Patient).link, [{ type: 'replaced-by', other: { reference: `Patient/${record.superseded_by}` } }])
    }
    assert.ok(records.filter((r) => r.status !== 'merged').every((r) => r.superseded_by === undefined))
  })

  it('refuses a size that is not a positive whole number', () => {
    assert.throws(() => generatePopulation({ size: 0 }), RangeError)
    assert.throws(() => generatePopulation({ size: 1.5 }), RangeError)
  })
})
