/**
 * `GET /Patient?...` (cis2.md 6.6, PDS's patient-search): a non-fuzzy search finds the patients
 * every parameter matches exactly (score 1), names and postcodes also by a trailing wildcard
 * (`Sm*`, scored below 1); a fuzzy search scores candidates found by the family
 * name's Soundex key, by the date of birth asked for (and its day/month transposition), and by
 * postcode, keeping the close ones. Results are sorted best first; more than `_max-results` is
 * PDS's `TOO_MANY_MATCHES`. Restricted patients are redacted, and not returned at all when the
 * search names a postcode or a practice ("no restricted patients are returned even if a match is
 * identified"). Merged and invalidated records are never found (the store returns active ones).
 */
import type { Patient } from 'fhir/r4.js'
import type { ApiRoute, PatientRecord, PatientSearch, PatientStore, ServiceResponse } from '@careid/ports'
import { apiBaseUrl, searchsetResponse } from './fhir_response.ts'
import { fuzzyScore, givenNames, hasEmail, hasPhone, hasPractice, inRange, jaroWinkler } from './fuzzy_match.ts'
import { tooManyMatches } from './pds_outcomes.ts'
import { shownPatient } from './restricted_redaction.ts'
import { normaliseName, normalisePostcode, soundex } from './search_keys.ts'
import { isCalendarDate, readPatientQuery, type PatientQuery } from './search_params.ts'

/**
 * How many candidates one store query may bring. Far more than the 50 results a search may
 * answer, so a search that reaches it is one of too many matches whatever the filters after it.
 */
const CANDIDATE_LIMIT = 2000

interface Match {
  record: PatientRecord
  score: number
}

/**
 * How `record` matches a non-fuzzy `query` beyond what the store compared: undefined when some
 * parameter does not match; else its score, 1 unless a wildcard matched only the start of a
 * value, when it is the lowest Jaro-Winkler similarity of such a prefix to the value it matched.
 */
function exactScore(query: PatientQuery, record: PatientRecord): number | undefined {
  const patient = record.resource as unknown as Patient
  const held = givenNames(record)
  let score = 1
  const prefixOf = (asked: string, value: string): boolean => {
    if (!value.startsWith(asked)) return false
    score = Math.min(score, jaroWinkler(asked, value))
    return true
  }
  const familyPrefix = query.family === undefined ? undefined : wildcardPrefix(query.family, normaliseName)
  if (familyPrefix !== undefined && !prefixOf(familyPrefix, record.family)) return undefined
  for (const [index, given] of query.given.entries()) {
    const prefix = wildcardPrefix(given, normaliseName)
    // The first given name asked for is the first held; further ones are any later given names.
    const candidates = index === 0 ? held.slice(0, 1) : held.slice(1)
    if (prefix !== undefined ? !candidates.some((name) => prefixOf(prefix, name)) : !candidates.includes(normaliseName(given))) return undefined
  }
  if (query.postcode !== undefined) {
    const prefix = wildcardPrefix(query.postcode, normalisePostcode)
    if (prefix !== undefined ? !prefixOf(prefix, record.postcode ?? '') : record.postcode !== normalisePostcode(query.postcode)) return undefined
  }
  if (query.deathDate !== undefined && !inRange(patient.deceasedDateTime, query.deathDate)) return undefined
  if (query.generalPractitioner !== undefined && !hasPractice(patient, query.generalPractitioner)) return undefined
  if (query.email !== undefined && !hasEmail(patient, query.email)) return undefined
  if (query.phone !== undefined && !hasPhone(patient, query.phone)) return undefined
  return Math.round(score * 10_000) / 10_000
}

async function exactMatches(patients: PatientStore, query: PatientQuery): Promise<Match[]> {
  const family = query.family ?? ''
  const familyPrefix = wildcardPrefix(family, normaliseName)
  const criteria: PatientSearch = { birth_date_from: query.birthdate.from, birth_date_to: query.birthdate.to, limit: CANDIDATE_LIMIT }
  if (familyPrefix !== undefined) criteria.family_prefix = familyPrefix
  else criteria.family = normaliseName(family)
  if (query.gender !== undefined) criteria.gender = query.gender
  const matches: Match[] = []
  for (const record of await patients.search(criteria)) {
    const score = exactScore(query, record)
    if (score !== undefined) matches.push({ record, score })
  }
  return matches
}

/** The dates a fuzzy search looks up whatever the name: the one asked for and, if a date, its day/month transposition. */
function candidateDates(exact: string): string[] {
  const [y, m, d] = exact.split('-')
  const transposed = `${y}-${d}-${m}`
  return transposed !== exact && isCalendarDate(transposed) ? [exact, transposed] : [exact]
}

async function fuzzyMatches(patients: PatientStore, query: PatientQuery): Promise<Match[]> {
  const lookups: PatientSearch[] = []
  if (query.family !== undefined) lookups.push({ family_phonetic: soundex(query.family), limit: CANDIDATE_LIMIT })
  if (query.birthdate.exact !== undefined) {
    for (const date of candidateDates(query.birthdate.exact)) lookups.push({ birth_date_from: date, birth_date_to: date, limit: CANDIDATE_LIMIT })
  } else {
    lookups.push({ birth_date_from: query.birthdate.from, birth_date_to: query.birthdate.to, limit: CANDIDATE_LIMIT })
  }
  if (query.postcode !== undefined) lookups.push({ postcode: normalisePostcode(query.postcode), limit: CANDIDATE_LIMIT })
  const candidates = new Map<string, PatientRecord>()
  for (const found of await Promise.all(lookups.map((criteria) => patients.search(criteria)))) {
    for (const record of found) candidates.set(record.nhs_number, record)
  }
  const matches: Match[] = []
  for (const record of candidates.values()) {
    const score = fuzzyScore(query, record)
    if (score !== undefined) matches.push({ record, score })
  }
  return matches
}

export function patientSearchRoute(patients: PatientStore, now: () => number, origin?: string): ApiRoute {
  return {
    method: 'GET',
    path: '/Patient',
    async handle(request, caller): Promise<ServiceResponse> {
      const query = readPatientQuery(request, caller)
      if ('status' in query) return query

      let matches = query.fuzzy ? await fuzzyMatches(patients, query) : await exactMatches(patients, query)
      if (query.exact) matches = matches.filter((match) => match.score === 1)
      if (query.postcode !== undefined || query.generalPractitioner !== undefined) matches = matches.filter((match) => !match.record.restricted)
      if (matches.length > query.maxResults) return tooManyMatches()
      matches.sort((a, b) => b.score - a.score || (a.record.nhs_number < b.record.nhs_number ? -1 : 1))

      const base = apiBaseUrl(request, origin)
      return searchsetResponse(
        now(),
        matches.map(({ record, score }) => ({
          fullUrl: `${base}/Patient/${record.nhs_number}`,
          score,
          resource: shownPatient(record.resource as unknown as Patient),
        })),
      )
    },
  }
}

/** A trailing wildcard's prefix, normalised (search_params.ts allows no other wildcard). */
function wildcardPrefix(value: string, normalise: (v: string) => string): string | undefined {
  return value.endsWith('*') ? normalise(value.slice(0, -1)) : undefined
}
