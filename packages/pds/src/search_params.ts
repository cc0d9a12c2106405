/**
 * The query of `GET /Patient?...` read as PDS reads it (its OpenAPI and sandbox): which
 * parameters exist, which dates are well formed, what each access mode may ask for, and the
 * minimum a search needs; each refusal with PDS's code and text. Checks run in PDS's order.
 */
import type { ApiCaller, ServiceRequest, ServiceResponse } from '@careid/ports'
import {
  additionalProperties,
  invalidSearchData,
  invalidValue,
  maxResultsAppRestricted,
  missingValue,
  unsupportedService,
} from './pds_outcomes.ts'

const KNOWN = [
  '_fuzzy-match', '_exact-match', '_history', '_max-results',
  'family', 'given', 'gender', 'birthdate', 'death-date',
  'address-postalcode', 'address-postcode', 'general-practitioner', 'email', 'phone',
] as const
/** Parameters that may be given more than once: names, and dates (twice for a range). */
const REPEATABLE = new Set(['given', 'birthdate', 'death-date'])
const GENDERS = new Set(['male', 'female', 'other', 'unknown'])
/** "For healthcare worker access, this must be between 1 and 50, and the default is 50." */
export const MAX_RESULTS_LIMIT = 50

/** A date condition: inclusive bounds, either open. */
export interface DateRange {
  /** The one date asked for, when given with no prefix or `eq` (a fuzzy match compares it). */
  exact?: string | undefined
  from?: string | undefined
  to?: string | undefined
}

export interface PatientQuery {
  fuzzy: boolean
  exact: boolean
  maxResults: number
  family?: string | undefined
  given: string[]
  gender?: string | undefined
  birthdate: DateRange
  deathDate?: DateRange | undefined
  postcode?: string | undefined
  generalPractitioner?: string | undefined
  email?: string | undefined
  phone?: string | undefined
}

function values(request: ServiceRequest, name: string): string[] {
  const value = request.query[name]
  return value === undefined ? [] : typeof value === 'string' ? [value] : [...value]
}

/** Whether `date` (YYYY-MM-DD) names a day of the calendar. */
export function isCalendarDate(date: string): boolean {
  const parsed = new Date(`${date}T00:00:00Z`)
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date
}

/** The range of `eq`/`ge`/`le`-prefixed dates, or the first value that is not one. */
function dateRange(dates: readonly string[]): DateRange | { invalid: string } {
  const range: DateRange = {}
  for (const value of dates) {
    const match = /^(eq|ge|le)?(\d{4}-\d{2}-\d{2})$/.exec(value)
    if (match === null || !isCalendarDate(match[2]!)) return { invalid: value }
    const [, prefix = 'eq', date] = match as unknown as [string, string | undefined, string]
    // Each value narrows the range: `ge` raises its start, `le` lowers its end, `eq` does both.
    if (prefix !== 'le' && (range.from === undefined || date > range.from)) range.from = date
    if (prefix !== 'ge' && (range.to === undefined || date < range.to)) range.to = date
    if (prefix === 'eq') range.exact = date
  }
  return range
}

/**
 * A parameter whose `*` cannot be taken: any in a fuzzy search (PDS: it "does not allow
 * wildcards"), and in a non-fuzzy one any but a single trailing `*` after at least two characters
 * ("not in the first two characters") of a name or postcode.
 */
function misplacedWildcard(request: ServiceRequest, fuzzy: boolean): [string, string] | undefined {
  for (const name of ['family', 'given', 'address-postalcode', 'address-postcode']) {
    for (const value of values(request, name)) {
      if (!value.includes('*')) continue
      if (fuzzy || value.indexOf('*') !== value.length - 1 || value.trim().length < 3) return [name, value]
    }
  }
  return undefined
}

function booleanParam(request: ServiceRequest, name: string): boolean | { invalid: string } {
  const [value] = values(request, name)
  if (value === undefined) return false
  if (value === 'true' || value === 'false') return value === 'true'
  return { invalid: value }
}

/** The search `request` asks for, or PDS's refusal of it. */
export function readPatientQuery(request: ServiceRequest, caller: ApiCaller): PatientQuery | ServiceResponse {
  const names = Object.keys(request.query)
  const maxResultsValues = values(request, '_max-results')
  // The proxy refuses application-restricted searches for more than one result before PDS
  // reads anything else (targets/ig3.xml: RaiseFault.MaxResultsInvalidAppRestricted).
  if (caller.mode === 'application' && maxResultsValues.length > 0 && (maxResultsValues.length > 1 || maxResultsValues[0] !== '1')) {
    return maxResultsAppRestricted()
  }
  if (names.length === 0) return unsupportedService()
  const unknown = names.filter((name) => !(KNOWN as readonly string[]).includes(name))
  if (unknown.length === 1) return additionalProperties(`Invalid request with error - Additional properties are not allowed ('${unknown[0]}' was unexpected)`)
  if (unknown.length > 1) {
    return additionalProperties(`Invalid request with error - Additional properties are not allowed (${unknown.map((n) => `'${n}'`).join(', ')} were unexpected)`)
  }
  for (const name of names) {
    const given = values(request, name)
    if (!REPEATABLE.has(name) && given.length > 1) return invalidValue(`Invalid value - '${given.join(',')}' in field '${name}'`)
  }

  const birthdate = dateRange(values(request, 'birthdate'))
  if ('invalid' in birthdate) return invalidValue(`Invalid value - '${birthdate.invalid}' in field 'birthdate'`)
  const deathDates = values(request, 'death-date')
  const deathDate = dateRange(deathDates)
  if ('invalid' in deathDate) return invalidValue(`Invalid value - '${deathDate.invalid}' in field 'death-date'`)

  // `_history` asks a non-fuzzy search to match previous names and addresses too; this service
  // holds none, so the flag is checked and changes nothing.
  const flags: Record<string, boolean> = {}
  for (const name of ['_fuzzy-match', '_exact-match', '_history']) {
    const flag = booleanParam(request, name)
    if (typeof flag !== 'boolean') return invalidValue(`Invalid value - '${flag.invalid}' in field '${name}'`)
    flags[name] = flag
  }

  let maxResults = caller.mode === 'application' ? 1 : MAX_RESULTS_LIMIT
  if (maxResultsValues.length > 0) {
    const value = maxResultsValues[0]!
    if (!/^[0-9]{1,2}$/.test(value) || Number(value) < 1 || Number(value) > MAX_RESULTS_LIMIT) {
      return invalidValue(`Invalid value - '${value}' in field '_max-results'`)
    }
    maxResults = Number(value)
  }

  const wildcard = misplacedWildcard(request, flags['_fuzzy-match']!)
  if (wildcard !== undefined) return invalidValue(`Invalid value - '${wildcard[1]}' in field '${wildcard[0]}'`)

  const [gender] = values(request, 'gender')
  if (gender !== undefined && !GENDERS.has(gender)) return invalidValue(`Invalid value - '${gender}' in field 'gender'`)

  const nonEmpty = (name: string): string | undefined => {
    const [value] = values(request, name)
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }
  const query: PatientQuery = {
    fuzzy: flags['_fuzzy-match']!,
    exact: flags['_exact-match']!,
    maxResults,
    family: nonEmpty('family'),
    given: values(request, 'given').map((g) => g.trim()).filter((g) => g !== ''),
    gender,
    birthdate,
    deathDate: deathDates.length > 0 ? deathDate : undefined,
    postcode: nonEmpty('address-postalcode') ?? nonEmpty('address-postcode'),
    generalPractitioner: nonEmpty('general-practitioner'),
    email: nonEmpty('email'),
    phone: nonEmpty('phone'),
  }

  // PDS's sandbox and tests: the date of birth is checked first, then the rest of the minimum.
  if (values(request, 'birthdate').length === 0) return missingValue("Missing value - 'birth_date/birth_date_range_start/birth_date_range_end'")
  if (query.fuzzy) {
    // "You must use one of the following search parameter combinations: given name, family name
    // and date of birth; family name, date of birth, gender and postcode; given name, date of
    // birth, gender and postcode."
    const given = query.given.length > 0
    const located = query.gender !== undefined && query.postcode !== undefined
    if (!((given && query.family !== undefined) || (query.family !== undefined && located) || (given && located))) {
      return invalidSearchData("Invalid search data provided - 'A fuzzy search was requested however the data given did not meet the fuzzy search criteria'")
    }
  } else if (query.family === undefined) {
    return invalidSearchData("Invalid search data provided - 'No searches were performed as the search criteria did not meet the minimum requirements'")
  }
  return query
}
