/**
 * The conformance suite's part for `Store.patients`: the demographics service's patients, their
 * search, and compare-and-set updates.
 */
import assert from 'node:assert/strict'
import { describe } from 'node:test'
import type { PatientRecord } from '@careid/ports'
import { RACERS, type StoreTest } from './fixtures.ts'

/** A patient with every field set; `changes` override them. */
function patient(nhsNumber: string, changes: Partial<PatientRecord> = {}): PatientRecord {
  return {
    nhs_number: nhsNumber,
    version: 1,
    resource: {
      resourceType: 'Patient',
      id: nhsNumber,
      meta: { versionId: '1', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'U' }] },
      name: [{ use: 'usual', family: 'Smith', given: ['Jane', 'Ann'] }],
      birthDate: '1990-06-01',
      deceasedDateTime: null,
      active: true,
    },
    family: 'SMITH',
    given: 'JANE',
    family_phonetic: 'S530',
    birth_date: '1990-06-01',
    gender: 'female',
    postcode: 'LS14AP',
    restricted: false,
    status: 'active',
    ...changes,
  }
}

export function patientsConformance(test: StoreTest): void {
  describe('patients', () => {
    const merged = patient('9000000017', { status: 'merged', superseded_by: '9000000009', restricted: true, version: 4 })
    const minimal = patient('9000000025', { postcode: undefined })
    delete minimal.postcode

    test('round-trips every field, and leaves absent ones absent', async (store) => {
      await store.patients.putMany([patient('9000000009'), merged, minimal])
      assert.deepStrictEqual(await store.patients.get('9000000009'), patient('9000000009'))
      assert.deepStrictEqual(await store.patients.get('9000000017'), merged)
      const got = await store.patients.get('9000000025')
      assert.deepStrictEqual(got, minimal)
      assert.equal('postcode' in got!, false)
      assert.equal('superseded_by' in got!, false)
      assert.equal(await store.patients.get('9999999999'), undefined)
      assert.equal(await store.patients.count(), 3)
    })

    test('putMany stores none when one NHS number is already stored or repeated', async (store) => {
      await store.patients.putMany([patient('9000000009')])
      await assert.rejects(store.patients.putMany([patient('9000000017'), patient('9000000009', { family: 'JONES' })]))
      await assert.rejects(store.patients.putMany([patient('9000000025'), patient('9000000025')]))
      assert.equal(await store.patients.count(), 1)
      assert.equal(await store.patients.get('9000000017'), undefined)
      assert.equal(await store.patients.get('9000000025'), undefined)
      assert.deepStrictEqual(await store.patients.get('9000000009'), patient('9000000009'))
      await store.patients.putMany([])
      assert.equal(await store.patients.count(), 1)
    })

    test('putMany stores a large batch in one call', async (store) => {
      const many = Array.from({ length: 2500 }, (_, i) => patient(String(9_100_000_000 + i), { birth_date: `19${String(i % 100).padStart(2, '0')}-01-01` }))
      await store.patients.putMany(many)
      assert.equal(await store.patients.count(), 2500)
      assert.deepStrictEqual(await store.patients.get('9100002499'), many[2499])
      const born1950 = await store.patients.search({ family: 'SMITH', birth_date_from: '1950-01-01', birth_date_to: '1950-01-01', limit: 50 })
      assert.deepStrictEqual(born1950.map((p) => p.nhs_number), many.filter((_, i) => i % 100 === 50).map((p) => p.nhs_number))
    })

    test('search matches every criterion given, birth dates inclusive, active records only, in order', async (store) => {
      await store.patients.putMany([
        patient('9000000009', { given: 'JANE', birth_date: '1990-06-01' }),
        patient('9000000017', { given: 'ANN', birth_date: '1990-01-01' }),
        patient('9000000025', { given: 'ANN', birth_date: '1990-12-31', postcode: 'EX11AA' }),
        patient('9000000033', { given: 'ANN', birth_date: '1991-01-01' }),
        patient('9000000041', { family: 'SMYTHE', given: 'ANN', birth_date: '1990-06-01', gender: 'male' }),
        patient('9000000068', { given: 'JANE', birth_date: '1990-06-01', status: 'merged', superseded_by: '9000000009' }),
        patient('9000000076', { given: 'JANE', birth_date: '1990-06-01', status: 'invalidated' }),
        patient('9000000084', { family: 'JONES', family_phonetic: 'J520', given: 'ANN', birth_date: '1990-06-01' }),
      ])
      const numbers = async (criteria: Parameters<typeof store.patients.search>[0]) => (await store.patients.search(criteria)).map((p) => p.nhs_number)
      // Ordered by family, given, birth date, then NHS number; merged and invalidated never found.
      assert.deepStrictEqual(await numbers({ family: 'SMITH', birth_date_from: '1990-01-01', birth_date_to: '1990-12-31', limit: 50 }), [
        '9000000017',
        '9000000025',
        '9000000009',
      ])
      assert.deepStrictEqual(await numbers({ family: 'SMITH', birth_date_from: '1990-06-01', birth_date_to: '1990-06-01', limit: 50 }), ['9000000009'])
      assert.deepStrictEqual(await numbers({ family: 'SMITH', birth_date_from: '1990-07-01', limit: 50 }), ['9000000025', '9000000033'])
      assert.deepStrictEqual(await numbers({ family_phonetic: 'S530', birth_date_to: '1990-06-01', limit: 50 }), ['9000000017', '9000000009', '9000000041'])
      assert.deepStrictEqual(await numbers({ family_phonetic: 'S530', gender: 'male', limit: 50 }), ['9000000041'])
      assert.deepStrictEqual(await numbers({ family: 'SMITH', given: 'ANN', postcode: 'EX11AA', limit: 50 }), ['9000000025'])
      assert.deepStrictEqual(await numbers({ family: 'SMITH', limit: 2 }), ['9000000017', '9000000025'])
      assert.deepStrictEqual(await numbers({ family: 'NOBODY', limit: 50 }), [])
      // A family prefix (a search's trailing wildcard) matches names that start with it.
      assert.deepStrictEqual(await numbers({ family_prefix: 'SM', birth_date_from: '1990-06-01', birth_date_to: '1990-06-01', limit: 50 }), ['9000000009', '9000000041'])
      assert.deepStrictEqual(await numbers({ family_prefix: 'SMY', limit: 50 }), ['9000000041'])
      assert.deepStrictEqual(await numbers({ family_prefix: 'JONES', limit: 50 }), ['9000000084'])
      assert.deepStrictEqual(await numbers({ family_prefix: 'MI', limit: 50 }), [])
      await assert.rejects(store.patients.search({ family_prefix: 'S%', limit: 50 }), RangeError)
      assert.deepStrictEqual(await store.patients.search({ family: 'JONES', limit: 1 }), [
        patient('9000000084', { family: 'JONES', family_phonetic: 'J520', given: 'ANN', birth_date: '1990-06-01' }),
      ])
    })

    test('search refuses a limit that is not a positive whole number', async (store) => {
      await assert.rejects(store.patients.search({ family: 'SMITH', limit: 0 }), RangeError)
      await assert.rejects(store.patients.search({ family: 'SMITH', limit: 1.5 }), RangeError)
    })

    test('update replaces the record only at the expected version', async (store) => {
      await store.patients.putMany([patient('9000000009', { version: 2 })])
      const next = patient('9000000009', { version: 3, family: 'JONES', family_phonetic: 'J520', postcode: undefined, restricted: true })
      delete next.postcode
      assert.equal(await store.patients.update('9000000009', 1, { ...next, version: 2 }), false)
      assert.deepStrictEqual(await store.patients.get('9000000009'), patient('9000000009', { version: 2 }))
      assert.equal(await store.patients.update('9000000009', 2, next), true)
      assert.deepStrictEqual(await store.patients.get('9000000009'), next)
      assert.deepStrictEqual((await store.patients.search({ family: 'JONES', limit: 5 })).map((p) => p.nhs_number), ['9000000009'])
      assert.deepStrictEqual(await store.patients.search({ family: 'SMITH', limit: 5 }), [])
      assert.equal(await store.patients.update('9000000009', 2, { ...next, version: 3 }), false)
      assert.equal(await store.patients.update('9999999999', 1, patient('9999999999', { version: 2 })), false)
    })

    test('update refuses a record of another NHS number or that is not the next version, changing nothing', async (store) => {
      await store.patients.putMany([patient('9000000009'), patient('9000000017')])
      await assert.rejects(store.patients.update('9000000009', 1, patient('9000000017', { version: 2 })), RangeError)
      await assert.rejects(store.patients.update('9000000009', 1, patient('9000000009', { version: 3 })), RangeError)
      await assert.rejects(store.patients.update('9000000009', 1, patient('9000000009', { version: 1 })), RangeError)
      assert.deepStrictEqual(await store.patients.get('9000000009'), patient('9000000009'))
      assert.deepStrictEqual(await store.patients.get('9000000017'), patient('9000000017'))
    })

    test('of concurrent updates from one version exactly one wins', async (store) => {
      await store.patients.putMany([patient('9000000009')])
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => store.patients.update('9000000009', 1, patient('9000000009', { version: 2, given: `RACER${i}` }))),
      )
      assert.equal(results.filter(Boolean).length, 1)
      const winner = results.indexOf(true)
      assert.deepStrictEqual(await store.patients.get('9000000009'), patient('9000000009', { version: 2, given: `RACER${winner}` }))
    })

    test('returns fresh objects', async (store) => {
      await store.patients.putMany([patient('9000000009')])
      const got = (await store.patients.get('9000000009'))!
      ;(got.resource['name'] as unknown[]).push('x')
      got.family = 'CHANGED'
      assert.deepStrictEqual(await store.patients.get('9000000009'), patient('9000000009'))
    })
  })
}
