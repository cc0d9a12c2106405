import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { PatientRecord } from '@careid/ports'
import { application, assertOutcome, BASE, openApi, pick, search, type ApiFixture, type Json } from './api_support.ts'

interface Entry {
  fullUrl: string
  search: { score: number }
  resource: Json
}
const entries = (json: unknown): Entry[] => ((json as Json)['entry'] as Entry[] | undefined) ?? []
const ids = (json: unknown): string[] => entries(json).map((e) => e.resource['id'] as string)
const familyOf = (r: PatientRecord): string => ((r.resource['name'] as Json[])[0]!['family'] as string)

const invalidValue = (diagnostics: string) => ({ severity: 'error', code: 'value', spineCode: 'INVALID_VALUE', display: 'Provided value is invalid', diagnostics })

describe('GET /Patient (search)', () => {
  let fixture: ApiFixture
  // 9000000009: Sarah Watson, female, born 1953-02-10, EX17 9NN, phone 01632 960372.
  let sarah: PatientRecord
  before(async () => {
    fixture = await openApi()
    sarah = pick(fixture, (r) => r.nhs_number === '9000000009')
    assert.deepStrictEqual([sarah.family, sarah.given, sarah.birth_date, sarah.gender, sarah.postcode], ['WATSON', 'SARAH', '1953-02-10', 'female', 'EX179NN'])
  })
  after(() => fixture.store.close())

  describe('non-fuzzy', () => {
    it('answers a searchset Bundle shaped as PDS\'s: type, timestamp, total, entry with fullUrl, score and resource', async () => {
      const response = await search(fixture, { family: 'Watson', birthdate: 'eq1953-02-10' })
      assert.equal(response.status, 200)
      assert.equal(response.headers?.['content-type'], 'application/fhir+json')
      assert.deepStrictEqual(response.json, {
        resourceType: 'Bundle',
        type: 'searchset',
        timestamp: '2026-12-06T12:00:00+00:00',
        total: 1,
        entry: [{ fullUrl: `${BASE}/Patient/9000000009`, search: { score: 1 }, resource: sarah.resource }],
      })
    })

    it('matches names whatever their case and accents, and a date without prefix', async () => {
      const response = await search(fixture, { family: 'WATSON', given: 'sarah', birthdate: '1953-02-10', gender: 'female' })
      assert.deepStrictEqual(ids(response.json), ['9000000009'])
    })

    it('takes a birthdate range of ge and le', async () => {
      const response = await search(fixture, { family: 'Watson', birthdate: ['ge1953-02-01', 'le1953-02-28'] })
      assert.ok(ids(response.json).includes('9000000009'))
      const outside = await search(fixture, { family: 'Watson', birthdate: ['ge1953-02-11', 'le1953-02-28'] })
      assert.equal(ids(outside.json).includes('9000000009'), false)
    })

    it('answers an empty searchset (no entry) when nothing matches', async () => {
      const response = await search(fixture, { family: 'Watson', birthdate: 'eq1953-02-10', gender: 'male' })
      assert.equal(response.status, 200)
      assert.deepStrictEqual(response.json, { resourceType: 'Bundle', type: 'searchset', timestamp: '2026-12-06T12:00:00+00:00', total: 0 })
    })

    it('filters on postcode, phone (digits only), email, practice and death date', async () => {
      const withPhone = await search(fixture, { family: 'Watson', birthdate: '1953-02-10', phone: '01632960372', 'address-postcode': 'ex17 9nn' })
      assert.deepStrictEqual(ids(withPhone.json), ['9000000009'])
      const wrongPhone = await search(fixture, { family: 'Watson', birthdate: '1953-02-10', phone: '01632960000' })
      assert.deepStrictEqual(ids(wrongPhone.json), [])
      const wrongEmail = await search(fixture, { family: 'Watson', birthdate: '1953-02-10', email: 'someone@example.com' })
      assert.deepStrictEqual(ids(wrongEmail.json), [])
      const gp = ((sarah.resource['generalPractitioner'] as Json[])[0]!['identifier'] as Json)['value'] as string
      const withGp = await search(fixture, { family: 'Watson', birthdate: '1953-02-10', 'general-practitioner': gp })
      assert.deepStrictEqual(ids(withGp.json), ['9000000009'])
      const deceased = pick(fixture, (r) => r.status === 'active' && !r.restricted && typeof r.resource['deceasedDateTime'] === 'string')
      const died = (deceased.resource['deceasedDateTime'] as string).slice(0, 10)
      const byDeath = await search(fixture, { family: familyOf(deceased), birthdate: deceased.birth_date, 'death-date': `eq${died}` })
      assert.ok(ids(byDeath.json).includes(deceased.nhs_number))
      const notDead = await search(fixture, { family: 'Watson', birthdate: '1953-02-10', 'death-date': 'le2030-01-01' })
      assert.deepStrictEqual(ids(notDead.json), [])
    })

    it('redacts restricted patients in results', async () => {
      const restricted = pick(fixture, (r) => r.status === 'active' && r.restricted)
      const response = await search(fixture, { family: familyOf(restricted), birthdate: restricted.birth_date })
      const entry = entries(response.json).find((e) => e.resource['id'] === restricted.nhs_number)
      assert.ok(entry)
      for (const field of ['address', 'telecom', 'contact', 'generalPractitioner']) assert.equal(field in entry.resource, false, field)
      assert.equal(((entry.resource['meta'] as Json)['security'] as Json[])[0]!['code'], 'R')
    })

    it('returns no restricted patient when the search names a postcode', async () => {
      const restricted = pick(fixture, (r) => r.status === 'active' && r.restricted && r.postcode !== undefined)
      const response = await search(fixture, { family: familyOf(restricted), birthdate: restricted.birth_date, 'address-postcode': restricted.postcode! })
      assert.deepStrictEqual(ids(response.json), [])
    })

    it('never finds merged or invalidated records', async () => {
      for (const status of ['merged', 'invalidated'] as const) {
        const record = pick(fixture, (r) => r.status === status)
        const response = await search(fixture, { family: familyOf(record), birthdate: record.birth_date })
        assert.equal(ids(response.json).includes(record.nhs_number), false, status)
      }
    })

    it('matches a trailing wildcard in the family name, scored below 1', async () => {
      const response = await search(fixture, { family: 'Wat*', birthdate: '1953-02-10' })
      const entry = entries(response.json).find((e) => e.resource['id'] === '9000000009')
      assert.ok(entry)
      // Jaro-Winkler of WAT and WATSON: (3/3 + 3/6 + 1) / 3 = 0.8333, raised for the shared prefix of 3 to 0.8833.
      assert.equal(entry.search.score, 0.8833)
      const exactOnly = await search(fixture, { family: 'Wat*', birthdate: '1953-02-10', '_exact-match': 'true' })
      assert.deepStrictEqual(ids(exactOnly.json), [])
    })

    it('matches trailing wildcards in the given name and the postcode', async () => {
      const response = await search(fixture, { family: 'Watson', given: 'Sar*', birthdate: '1953-02-10', 'address-postalcode': 'EX17*' })
      assert.deepStrictEqual(ids(response.json), ['9000000009'])
      const elsewhere = await search(fixture, { family: 'Watson', given: 'Sar*', birthdate: '1953-02-10', 'address-postalcode': 'LS1*' })
      assert.deepStrictEqual(ids(elsewhere.json), [])
    })

    it('200 TOO_MANY_MATCHES (multiple-matches) when more match than _max-results', async () => {
      const all = await search(fixture, { family: 'Watson', birthdate: 'ge1900-01-01' })
      assert.ok((all.json as Json)['total'] as number > 1)
      assertOutcome(await search(fixture, { family: 'Watson', birthdate: 'ge1900-01-01', '_max-results': '1' }), 200, {
        severity: 'information',
        code: 'multiple-matches',
        spineCode: 'TOO_MANY_MATCHES',
        display: 'Too Many Matches',
      })
    })

    it('400 INVALID_VALUE for _max-results outside 1 to 50', async () => {
      for (const value of ['0', '51', 'ten']) {
        assertOutcome(await search(fixture, { family: 'Watson', birthdate: '1953-02-10', '_max-results': value }), 400, invalidValue(`Invalid value - '${value}' in field '_max-results'`))
      }
    })
  })

  describe('application-restricted', () => {
    it('answers a single unique match', async () => {
      const response = await search(fixture, { family: 'Watson', birthdate: '1953-02-10' }, application)
      assert.deepStrictEqual(ids(response.json), ['9000000009'])
    })

    it('answers TOO_MANY_MATCHES when the match is not unique', async () => {
      assertOutcome(await search(fixture, { family: 'Watson', birthdate: 'ge1900-01-01' }, application), 200, {
        severity: 'information',
        code: 'multiple-matches',
        spineCode: 'TOO_MANY_MATCHES',
        display: 'Too Many Matches',
      })
    })

    it('403 INVALID_VALUE for _max-results other than 1', async () => {
      assertOutcome(await search(fixture, { family: 'Watson', birthdate: '1953-02-10', '_max-results': '2' }, application), 403, {
        severity: 'error',
        code: 'token',
        spineCode: 'INVALID_VALUE',
        display: 'Cannot retrieve more than one result with application-restricted access token',
        diagnostics: 'Your app has insufficient permissions to perform this search. Please contact support.',
      })
    })
  })

  describe('refusals', () => {
    it('400 UNSUPPORTED_SERVICE with no parameters', async () => {
      assertOutcome(await search(fixture, {}), 400, { severity: 'error', code: 'processing', spineCode: 'UNSUPPORTED_SERVICE', display: 'Unsupported Service' })
    })

    it('400 ADDITIONAL_PROPERTIES for one unknown parameter', async () => {
      assertOutcome(await search(fixture, { family: 'Smith', birthdate: 'eq2010-10-22', year: '2003' }), 400, {
        severity: 'error',
        code: 'invariant',
        spineCode: 'ADDITIONAL_PROPERTIES',
        display: 'Additional properties should not be included',
        diagnostics: "Invalid request with error - Additional properties are not allowed ('year' was unexpected)",
      })
    })

    it('400 ADDITIONAL_PROPERTIES naming several unknown parameters', async () => {
      assertOutcome(await search(fixture, { manufacturer: 'Ford', model: 'focus', year: '2003' }), 400, {
        severity: 'error',
        code: 'invariant',
        spineCode: 'ADDITIONAL_PROPERTIES',
        display: 'Additional properties should not be included',
        diagnostics: "Invalid request with error - Additional properties are not allowed ('manufacturer', 'model', 'year' were unexpected)",
      })
    })

    it('400 INVALID_VALUE for a birthdate not in YYYY-MM-DD form', async () => {
      assertOutcome(await search(fixture, { family: 'Smith', birthdate: '20101022' }), 400, invalidValue("Invalid value - '20101022' in field 'birthdate'"))
    })

    it('400 INVALID_VALUE for a birthdate that is no calendar day', async () => {
      assertOutcome(await search(fixture, { family: 'Smith', birthdate: 'eq2010-02-30' }), 400, invalidValue("Invalid value - 'eq2010-02-30' in field 'birthdate'"))
    })

    it('400 INVALID_VALUE for a death-date not in YYYY-MM-DD form', async () => {
      assertOutcome(await search(fixture, { family: 'Smith', given: 'jane', gender: 'female', 'death-date': '20101022' }), 400, invalidValue("Invalid value - '20101022' in field 'death-date'"))
    })

    it('400 INVALID_VALUE for an unknown gender', async () => {
      assertOutcome(await search(fixture, { family: 'Smith', birthdate: '2010-10-22', gender: 'cat' }), 400, invalidValue("Invalid value - 'cat' in field 'gender'"))
    })

    it('400 MISSING_VALUE without a date of birth', async () => {
      assertOutcome(await search(fixture, { email: 'j.smith@example.com', phone: '0163' }), 400, {
        severity: 'error',
        code: 'required',
        spineCode: 'MISSING_VALUE',
        display: 'Required value is missing',
        diagnostics: "Missing value - 'birth_date/birth_date_range_start/birth_date_range_end'",
      })
    })

    it('400 INVALID_SEARCH_DATA for a non-fuzzy search without a family name', async () => {
      assertOutcome(await search(fixture, { birthdate: 'eq2010-10-22' }), 400, {
        severity: 'error',
        code: 'value',
        spineCode: 'INVALID_SEARCH_DATA',
        display: 'Search data is invalid',
        diagnostics: "Invalid search data provided - 'No searches were performed as the search criteria did not meet the minimum requirements'",
      })
    })

    it('400 INVALID_SEARCH_DATA for a fuzzy search outside the three combinations', async () => {
      assertOutcome(await search(fixture, { family: 'Watson', birthdate: '1953-02-10', '_fuzzy-match': 'true' }), 400, {
        severity: 'error',
        code: 'value',
        spineCode: 'INVALID_SEARCH_DATA',
        display: 'Search data is invalid',
        diagnostics: "Invalid search data provided - 'A fuzzy search was requested however the data given did not meet the fuzzy search criteria'",
      })
    })

    it('400 INVALID_VALUE for a flag that is not true or false', async () => {
      assertOutcome(await search(fixture, { family: 'Watson', birthdate: '1953-02-10', '_fuzzy-match': 'yes' }), 400, invalidValue("Invalid value - 'yes' in field '_fuzzy-match'"))
    })

    it('400 INVALID_VALUE for a single-valued parameter given twice', async () => {
      assertOutcome(await search(fixture, { family: ['Watson', 'Smith'], birthdate: '1953-02-10' }), 400, invalidValue("Invalid value - 'Watson,Smith' in field 'family'"))
    })

    it('400 INVALID_VALUE for a wildcard in the first two characters or inside a name', async () => {
      assertOutcome(await search(fixture, { family: 'W*', birthdate: '1953-02-10' }), 400, invalidValue("Invalid value - 'W*' in field 'family'"))
      assertOutcome(await search(fixture, { family: 'Wat*on', birthdate: '1953-02-10' }), 400, invalidValue("Invalid value - 'Wat*on' in field 'family'"))
    })

    it('400 INVALID_VALUE for a wildcard in a fuzzy search', async () => {
      assertOutcome(
        await search(fixture, { family: 'Wat*', given: 'Sarah', birthdate: '1953-02-10', '_fuzzy-match': 'true' }),
        400,
        invalidValue("Invalid value - 'Wat*' in field 'family'"),
      )
    })
  })

  describe('fuzzy', () => {
    const fuzzy = (query: Record<string, string>) => search(fixture, { ...query, '_fuzzy-match': 'true' })

    it('scores an exact match 1.0, first', async () => {
      const response = await fuzzy({ family: 'Watson', given: 'Sarah', birthdate: '1953-02-10' })
      const found = entries(response.json)
      assert.equal(found[0]!.resource['id'], '9000000009')
      assert.equal(found[0]!.search.score, 1)
      assert.equal(found[0]!.fullUrl, `${BASE}/Patient/9000000009`)
      for (let i = 1; i < found.length; i++) assert.ok(found[i - 1]!.search.score >= found[i]!.search.score)
    })

    it('finds a misspelt family name (same Soundex) with a lower score', async () => {
      const response = await fuzzy({ family: 'Watsen', given: 'Sarah', birthdate: '1953-02-10' })
      const entry = entries(response.json).find((e) => e.resource['id'] === '9000000009')
      assert.ok(entry)
      assert.ok(entry.search.score < 1 && entry.search.score > 0.9, String(entry.search.score))
    })

    it('finds a misspelling that changes the Soundex key, through the date of birth', async () => {
      const response = await fuzzy({ family: 'Qatson', given: 'Sarah', birthdate: '1953-02-10' })
      const entry = entries(response.json).find((e) => e.resource['id'] === '9000000009')
      assert.ok(entry)
      assert.ok(entry.search.score < 1, String(entry.search.score))
    })

    it('finds a date of birth with day and month transposed, with a lower score', async () => {
      const response = await fuzzy({ family: 'Watson', given: 'Sarah', birthdate: '1953-10-02' })
      const entry = entries(response.json).find((e) => e.resource['id'] === '9000000009')
      assert.ok(entry)
      assert.ok(entry.search.score < 1, String(entry.search.score))
    })

    it('finds a date of birth with one digit wrong', async () => {
      const response = await fuzzy({ family: 'Watson', given: 'Sarah', birthdate: '1958-02-10' })
      assert.ok(ids(response.json).includes('9000000009'))
    })

    it('finds transposed names', async () => {
      const response = await fuzzy({ family: 'Sarah', given: 'Watson', birthdate: '1953-02-10' })
      const entry = entries(response.json).find((e) => e.resource['id'] === '9000000009')
      assert.ok(entry)
      assert.ok(entry.search.score < 1)
    })

    it('does not find another name on the same day', async () => {
      const response = await fuzzy({ family: 'Robinson', given: 'Sarah', birthdate: '1953-02-10' })
      assert.equal(ids(response.json).includes('9000000009'), false)
    })

    it('_exact-match keeps only exact matches', async () => {
      const misspelt = await search(fixture, { family: 'Watsen', given: 'Sarah', birthdate: '1953-02-10', '_fuzzy-match': 'true', '_exact-match': 'true' })
      assert.deepStrictEqual(ids(misspelt.json), [])
      const exact = await search(fixture, { family: 'Watson', given: 'Sarah', birthdate: '1953-02-10', '_fuzzy-match': 'true', '_exact-match': 'true' })
      assert.deepStrictEqual(entries(exact.json).map((e) => e.search.score), [1])
    })

    it('a mismatching phone lowers the score of an otherwise exact match', async () => {
      const response = await fuzzy({ family: 'Watson', given: 'Sarah', birthdate: '1953-02-10', phone: '01632960000' })
      const entry = entries(response.json).find((e) => e.resource['id'] === '9000000009')
      assert.ok(entry)
      assert.ok(entry.search.score < 1)
    })

    it('searches by given name, date of birth, gender and postcode without a family name', async () => {
      const response = await fuzzy({ given: 'Sarah', birthdate: '1953-02-10', gender: 'female', 'address-postalcode': 'EX17 9NN' })
      assert.deepStrictEqual(entries(response.json).map((e) => [e.resource['id'], e.search.score]), [['9000000009', 1]])
    })
  })
})
