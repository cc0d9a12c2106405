/**
 * How closely a patient matches a search (PDS's `search.score`: 1 for an exact match, less for a
 * partial one). Names are compared normalised (search_keys.ts) by Jaro-Winkler similarity, which
 * rewards a shared beginning and tolerates the one-letter slips and swaps of a misspelt name;
 * transposed names ("Adam Thomas" for "Thomas Adam") are tried too, as PDS's fuzzy search does.
 * Dates match exactly, with day and month transposed, or with one digit wrong.
 */
import type { ContactPoint, Patient } from 'fhir/r4.js'
import type { PatientRecord } from '@careid/ports'
import { normaliseName, normalisePostcode } from './search_keys.ts'
import type { DateRange, PatientQuery } from './search_params.ts'

/**
 * Jaro-Winkler similarity of two strings, 0 to 1 (Winkler 1990: the Jaro similarity raised for a
 * common prefix of up to four characters, with the usual scaling factor 0.1).
 */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1
  if (a.length === 0 || b.length === 0) return 0
  const window = Math.max(0, Math.floor(Math.max(a.length, b.length) / 2) - 1)
  const aMatched = new Array<boolean>(a.length).fill(false)
  const bMatched = new Array<boolean>(b.length).fill(false)
  let matches = 0
  for (let i = 0; i < a.length; i++) {
    for (let j = Math.max(0, i - window); j < Math.min(b.length, i + window + 1); j++) {
      if (bMatched[j] || a[i] !== b[j]) continue
      aMatched[i] = bMatched[j] = true
      matches++
      break
    }
  }
  if (matches === 0) return 0
  let transpositions = 0
  for (let i = 0, j = 0; i < a.length; i++) {
    if (!aMatched[i]) continue
    while (!bMatched[j]) j++
    if (a[i] !== b[j]) transpositions++
    j++
  }
  const jaro = (matches / a.length + matches / b.length + (matches - transpositions / 2) / matches) / 3
  let prefix = 0
  while (prefix < 4 && prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++
  return jaro + prefix * 0.1 * (1 - jaro)
}

/** Similarity of two YYYY-MM-DD dates: 1 equal, 0.85 with day and month transposed or one digit wrong, else 0. */
export function dateSimilarity(asked: string, held: string): number {
  if (asked === held) return 1
  if (asked.length !== 10 || held.length !== 10) return 0
  const [y, m, d] = asked.split('-')
  if (`${y}-${d}-${m}` === held) return 0.85
  let differing = 0
  for (let i = 0; i < asked.length; i++) if (asked[i] !== held[i]) differing++
  return differing === 1 ? 0.85 : 0
}

/** Whether `date` (YYYY-MM-DD, or a dateTime whose day is taken) is within `range`. */
export function inRange(date: string | undefined, range: DateRange): boolean {
  if (date === undefined) return false
  const day = date.slice(0, 10)
  return (range.from === undefined || day >= range.from) && (range.to === undefined || day <= range.to)
}

/** A telephone number's digits, so that spacing and punctuation do not matter. */
export function phoneDigits(phone: string): string {
  return phone.replace(/[^0-9]/g, '')
}

function hasTelecom(patient: Patient, system: ContactPoint['system'], wanted: string, canonical: (value: string) => string): boolean {
  return (patient.telecom ?? []).some((t) => t.system === system && t.value !== undefined && canonical(t.value) === canonical(wanted))
}
export const hasPhone = (patient: Patient, phone: string): boolean => hasTelecom(patient, 'phone', phone, phoneDigits)
export const hasEmail = (patient: Patient, email: string): boolean => hasTelecom(patient, 'email', email, (v) => v.trim().toLowerCase())
export const hasPractice = (patient: Patient, ods: string): boolean =>
  (patient.generalPractitioner ?? []).some((gp) => gp.identifier?.value?.toUpperCase() === ods.trim().toUpperCase())

/** Every given name of the patient's search name, normalised. */
export function givenNames(record: PatientRecord): string[] {
  const patient = record.resource as unknown as Patient
  const name = patient.name?.find((n) => n.use === 'usual') ?? patient.name?.[0]
  return (name?.given ?? []).map(normaliseName)
}

/** How much each part of a search weighs in the score; only the parts asked for count. */
const WEIGHTS = { family: 0.3, given: 0.2, birthdate: 0.3, gender: 0.05, postcode: 0.1, other: 0.05 } as const
/** Below this a name is another name, not a misspelling of it. */
export const NAME_THRESHOLD = 0.8
/** Below this a candidate is not a match at all. */
export const SCORE_THRESHOLD = 0.75

/**
 * The fuzzy score of `record` for `query`, rounded to four places as PDS gives it, or undefined
 * when it is no match: the date of birth must be close, and each name asked for similar.
 */
export function fuzzyScore(query: PatientQuery, record: PatientRecord): number | undefined {
  const patient = record.resource as unknown as Patient
  const parts: [weight: number, similarity: number][] = []

  const birth = query.birthdate.exact !== undefined ? dateSimilarity(query.birthdate.exact, record.birth_date) : inRange(record.birth_date, query.birthdate) ? 1 : 0
  if (birth === 0) return undefined
  parts.push([WEIGHTS.birthdate, birth])

  const family = query.family === undefined ? undefined : normaliseName(query.family)
  const given = query.given.length === 0 ? undefined : normaliseName(query.given[0]!)
  const heldGiven = givenNames(record)[0] ?? ''
  const familySimilarity = family === undefined ? 1 : jaroWinkler(family, record.family)
  const givenSimilarity = given === undefined ? 1 : jaroWinkler(given, heldGiven)
  let [familyScore, givenScore] = [familySimilarity, givenSimilarity]
  if (family !== undefined && given !== undefined) {
    // Transposed names: the family asked for as the held given name and the reverse, a little below a straight match.
    const swapped = ((jaroWinkler(family, heldGiven) + jaroWinkler(given, record.family)) / 2) * 0.95
    if (swapped > (familySimilarity + givenSimilarity) / 2) [familyScore, givenScore] = [swapped, swapped]
  }
  if (familyScore < NAME_THRESHOLD || givenScore < NAME_THRESHOLD) return undefined
  if (family !== undefined) parts.push([WEIGHTS.family, familyScore])
  if (given !== undefined) parts.push([WEIGHTS.given, givenScore])

  if (query.gender !== undefined) parts.push([WEIGHTS.gender, query.gender === record.gender ? 1 : 0])
  if (query.postcode !== undefined) {
    const asked = normalisePostcode(query.postcode)
    const held = record.postcode ?? ''
    // The same outward code (the district) is a near miss: people move locally.
    parts.push([WEIGHTS.postcode, asked === held ? 1 : asked.slice(0, -3) === held.slice(0, -3) && held !== '' ? 0.7 : 0])
  }
  // Date of death and registered practice are not searched on by a fuzzy search, but "a mismatch
  // reduces the returned score"; email and phone raise it when they match.
  if (query.deathDate !== undefined) parts.push([WEIGHTS.other, inRange(patient.deceasedDateTime, query.deathDate) ? 1 : 0])
  if (query.generalPractitioner !== undefined) parts.push([WEIGHTS.other, hasPractice(patient, query.generalPractitioner) ? 1 : 0])
  if (query.email !== undefined) parts.push([WEIGHTS.other, hasEmail(patient, query.email) ? 1 : 0])
  if (query.phone !== undefined) parts.push([WEIGHTS.other, hasPhone(patient, query.phone) ? 1 : 0])

  const total = parts.reduce((sum, [weight]) => sum + weight, 0)
  const score = Math.round((parts.reduce((sum, [weight, similarity]) => sum + weight * similarity, 0) / total) * 10_000) / 10_000
  return score < SCORE_THRESHOLD ? undefined : score
}
