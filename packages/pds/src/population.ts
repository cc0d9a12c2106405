/**
 * The demo's synthetic population: FHIR R4 Patients shaped as PDS returns them, generated from a
 * seed so that every Careid made with the same seed holds the same people, byte for byte. Nothing
 * here is a real person: NHS numbers start with 9, as NHS England's test data (its PDS sandbox
 * included) do, telephone numbers come from Ofcom's ranges reserved for drama, and email
 * addresses from example.com.
 */
import type { Address, ContactPoint, HumanName, Patient, PatientContact, Reference } from 'fhir/r4.js'
import type { PatientRecord } from '@careid/ports'
import { nhsCheckDigit } from './nhs_number.ts'
import { CONFIDENTIALITY_SYSTEM, patientRecord } from './patient_record.ts'

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number'
export const ODS_ORGANISATION_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code'

/** How many patients the demo seeds by default. */
export const DEFAULT_POPULATION_SIZE = 10_000
export const DEFAULT_POPULATION_SEED = 1

/** mulberry32: a small, fast 32-bit PRNG; the same seed always gives the same sequence. */
function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const familyNames = [
  'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Robinson', 'Wright',
  'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke',
  'Patel', 'Khan', 'Lewis', 'James', 'Phillips', 'Mason', 'Mitchell', 'Rose', 'Davis', 'Rodriguez',
  'Cox', 'Alexander', 'Morgan', 'Moore', 'Hughes', "O'Brien", 'Edwards', 'Turner', 'Hill', 'Cooper',
  'Ward', 'Morris', 'Harris', 'King', 'Baker', 'Carter', 'Shah', 'Begum', 'Ali', 'Hussain',
  'Singh', 'Kaur', 'Nowak', 'Kowalski', 'Murphy', 'Kelly', 'MacDonald', 'Campbell', 'Stewart', 'Smyth',
  'Smythe', 'Thomson', 'Johnston', 'Ahmed', 'Okafor', 'Mensah', 'Chen', 'Wong', 'Nguyen', 'Fernandes',
  'Lloyd', 'Price', 'Bennett', 'Gray', 'Grey', 'Owen', 'Powell', 'Watson', 'Young', 'Allen',
]
const femaleGiven = [
  'Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Ivy', 'Lily', 'Isabella', 'Sophia', 'Grace',
  'Margaret', 'Susan', 'Patricia', 'Elizabeth', 'Jane', 'Sarah', 'Emma', 'Claire', 'Helen', 'Joan',
  'Aisha', 'Fatima', 'Priya', 'Zoë', 'Siobhan', 'Niamh', 'Catherine', 'Anne', 'Mary', 'Chloe',
]
const maleGiven = [
  'Oliver', 'George', 'Noah', 'Arthur', 'Leo', 'Muhammad', 'Harry', 'Oscar', 'Jack', 'Theo',
  'John', 'David', 'Michael', 'Peter', 'James', 'Robert', 'William', 'Richard', 'Thomas', 'Paul',
  'Mohammed', 'Raj', 'Kwame', 'Seán', 'Dylan', 'Rhys', 'Callum', 'Ian', 'Stephen', 'Andrew',
]
const streets = [
  'High Street', 'Station Road', 'Church Lane', 'Park Avenue', 'Victoria Road', 'Green Lane', 'Manor Road',
  'Mill Lane', 'Queens Road', 'The Crescent', 'Kings Road', 'New Road', 'School Lane', 'Grange Road',
  'Orchard Close', 'Windsor Drive', 'Meadow View', 'Chapel Street', 'Albert Road', 'York Road',
]
/** Postcode areas with a post town and the first letter of the ODS codes of practices there. */
const places: readonly { area: string; districts: number; town: string; county: string; ods: string }[] = [
  { area: 'LS', districts: 29, town: 'LEEDS', county: 'WEST YORKSHIRE', ods: 'B' },
  { area: 'M', districts: 35, town: 'MANCHESTER', county: 'GREATER MANCHESTER', ods: 'P' },
  { area: 'B', districts: 99, town: 'BIRMINGHAM', county: 'WEST MIDLANDS', ods: 'M' },
  { area: 'NE', districts: 66, town: 'NEWCASTLE UPON TYNE', county: 'TYNE AND WEAR', ods: 'A' },
  { area: 'BS', districts: 49, town: 'BRISTOL', county: 'AVON', ods: 'L' },
  { area: 'E', districts: 18, town: 'LONDON', county: 'GREATER LONDON', ods: 'F' },
  { area: 'SW', districts: 20, town: 'LONDON', county: 'GREATER LONDON', ods: 'H' },
  { area: 'NG', districts: 25, town: 'NOTTINGHAM', county: 'NOTTINGHAMSHIRE', ods: 'C' },
  { area: 'EX', districts: 39, town: 'EXETER', county: 'DEVON', ods: 'L' },
  { area: 'YO', districts: 62, town: 'YORK', county: 'NORTH YORKSHIRE', ods: 'B' },
  { area: 'CB', districts: 25, town: 'CAMBRIDGE', county: 'CAMBRIDGESHIRE', ods: 'D' },
  { area: 'SO', districts: 53, town: 'SOUTHAMPTON', county: 'HAMPSHIRE', ods: 'J' },
]
/** Letters used in the inward part of a postcode (C, I, K, M, O and V never are). */
const inwardLetters = 'ABDEFGHJLNPQRSTUWXYZ'
const relationships = [
  { code: 'N', display: 'Next-of-Kin' },
  { code: 'C', display: 'Emergency Contact' },
]

/** What the generator makes. */
export interface Population {
  /** Every patient, as stored: active, merged, and invalidated records. */
  records: PatientRecord[]
}

export interface PopulationOptions {
  /** How many patients (records of every status), default DEFAULT_POPULATION_SIZE. */
  size?: number
  seed?: number
}

/** The date `days` after 1900-01-01, as YYYY-MM-DD. */
function isoDate(days: number): string {
  return new Date(Date.UTC(1900, 0, 1) + days * 86_400_000).toISOString().slice(0, 10)
}
const DAYS_1925 = 9131
const DAYS_2024_END = 45_656

/**
 * Generates `size` patients from `seed`. About 1 in 100 is restricted, 1 in 20 deceased, 1 in 100
 * merged into another (active) patient, and 1 in 200 invalidated; every one has a valid NHS number
 * (9000000000 upwards, in order), a usual name, gender, date of birth, a home address with a
 * plausible postcode and a registered GP practice with an ODS-shaped code; some have contacts.
 */
export function generatePopulation(options: PopulationOptions = {}): Population {
  const size = options.size ?? DEFAULT_POPULATION_SIZE
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError('size must be a positive integer')
  const random = prng(options.seed ?? DEFAULT_POPULATION_SEED)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(random() * 10)).join('')

  const nhsNumbers: string[] = []
  for (let stem = 900_000_000; nhsNumbers.length < size; stem++) {
    const check = nhsCheckDigit(String(stem))
    if (check !== undefined) nhsNumbers.push(`${stem}${check}`)
  }

  const records: PatientRecord[] = []
  for (const [index, nhsNumber] of nhsNumbers.entries()) {
    const roll = random()
    // The first records are always active, so a merged one always has a surviving record to point to.
    const status = index < 10 || roll >= 0.015 ? 'active' : roll < 0.01 ? 'merged' : 'invalidated'
    const female = random() < 0.5
    const givenNames = female ? femaleGiven : maleGiven
    const given = [pick(givenNames)]
    if (random() < 0.4) {
      const second = pick(givenNames)
      // A middle name repeating the first ("Sarah Sarah") is not a plausible name: the next name of
      // the list instead, drawn from no further random number, so that every other record stays as it was.
      given.push(second !== given[0] ? second : givenNames[(givenNames.indexOf(second) + 1) % givenNames.length]!)
    }
    const family = pick(familyNames)
    const birthDays = DAYS_1925 + Math.floor(random() * (DAYS_2024_END - DAYS_1925))
    const birthDate = isoDate(birthDays)
    const adult = birthDays < DAYS_2024_END - 18 * 365
    const prefix = !adult ? [] : female ? [pick(['Mrs', 'Miss', 'Ms', 'Dr'])] : [pick(['Mr', 'Mr', 'Dr'])]
    const place = pick(places)
    const district = 1 + Math.floor(random() * place.districts)
    const postcode = `${place.area}${district} ${Math.floor(random() * 10)}${pick([...inwardLetters])}${pick([...inwardLetters])}`
    const movedIn = isoDate(Math.min(DAYS_2024_END, birthDays + Math.floor(random() * 20_000)))
    const practice = `${place.ods}${String(district).padStart(2, '0')}${digits(3)}`
    const name: HumanName = { id: `${nhsNumber}-name-1`, use: 'usual', period: { start: birthDate }, given, family }
    if (prefix.length > 0) name.prefix = prefix
    const address: Address = {
      id: `${nhsNumber}-address-1`,
      use: 'home',
      period: { start: movedIn },
      line: [`${1 + Math.floor(random() * 180)} ${pick(streets)}`, place.town, place.county],
      postalCode: postcode,
    }
    const telecom: ContactPoint[] = [
      { id: `${nhsNumber}-telecom-1`, period: { start: movedIn }, system: 'phone', use: 'home', value: `01632 960${digits(3)}` },
    ]
    if (random() < 0.6) {
      telecom.push({ id: `${nhsNumber}-telecom-2`, period: { start: movedIn }, system: 'phone', use: 'mobile', value: `07700 900${digits(3)}` })
    }
    if (random() < 0.4) {
      telecom.push({
        id: `${nhsNumber}-telecom-3`,
        period: { start: movedIn },
        system: 'email',
        use: 'home',
        value: `${given[0]}.${family}@example.com`.normalize('NFKD').replace(/[^A-Za-z.@]/g, '').toLowerCase(),
      })
    }
    const generalPractitioner: Reference[] = [
      { id: `${nhsNumber}-gp-1`, type: 'Organization', identifier: { system: ODS_ORGANISATION_SYSTEM, value: practice, period: { start: movedIn } } },
    ]
    const restricted = random() < 0.01
    const deceased = random() < 0.05
    const version = 1 + Math.floor(random() * 3)

    const patient: Patient = {
      resourceType: 'Patient',
      id: nhsNumber,
      identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber }],
      meta: {
        versionId: String(version),
        security: [
          restricted
            ? { system: CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' }
            : { system: CONFIDENTIALITY_SYSTEM, code: 'U', display: 'unrestricted' },
        ],
      },
      name: [name],
      gender: female ? 'female' : 'male',
      birthDate,
      address: [address],
      telecom,
      generalPractitioner,
    }
    if (deceased) {
      const diedDays = birthDays + Math.floor(random() * (DAYS_2024_END - birthDays))
      patient.deceasedDateTime = `${isoDate(diedDays)}T${String(Math.floor(random() * 24)).padStart(2, '0')}:00:00+00:00`
    }
    if (random() < 0.2) {
      const relationship = pick(relationships)
      const contact: PatientContact = {
        id: `${nhsNumber}-contact-1`,
        relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', ...relationship }] }],
        name: { use: 'usual', given: [pick(random() < 0.5 ? femaleGiven : maleGiven)], family },
        telecom: [{ system: 'phone', use: 'mobile', value: `07700 900${digits(3)}` }],
      }
      patient.contact = [contact]
    }
    if (status === 'merged') {
      // Merged into an earlier active patient: PDS answers a read of this number with that record.
      let target = Math.floor(random() * index)
      while (records[target]!.status !== 'active') target = Math.floor(random() * index)
      const survivor = records[target]!.nhs_number
      patient.link = [{ type: 'replaced-by', other: { reference: `Patient/${survivor}` } }]
      records.push(patientRecord(patient, 'merged', survivor))
    } else {
      records.push(patientRecord(patient, status))
    }
  }
  return { records }
}
