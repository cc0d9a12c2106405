/**
 * The `patients` table as both SQL adapters read and search it: its columns, the WHERE clause a
 * search becomes, and the converter from a row to a `PatientRecord`.
 */
import type { Json, PatientRecord, PatientSearch, PatientStatus } from '@careid/ports'
import type { ColumnDecoder, ColumnTypes } from './sql_rows.ts'

export const patientColumns =
  'nhs_number, version, resource, family, given, family_phonetic, birth_date, gender, postcode, restricted, status, superseded_by'

export interface PatientRow<C extends ColumnTypes> {
  nhs_number: string
  version: C['int']
  resource: C['json']
  family: string
  given: string
  family_phonetic: string
  birth_date: string
  gender: string
  postcode: string | null
  restricted: C['bool']
  status: string
  superseded_by: string | null
}

/** A row's values as a record. */
export function patientReader<C extends ColumnTypes>({ int, json, bool }: ColumnDecoder<C>): (row: PatientRow<C>) => PatientRecord {
  return (row) => {
    const record: PatientRecord = {
      nhs_number: row.nhs_number,
      version: int(row.version),
      resource: json<{ [key: string]: Json }>(row.resource),
      family: row.family,
      given: row.given,
      family_phonetic: row.family_phonetic,
      birth_date: row.birth_date,
      gender: row.gender,
      restricted: bool(row.restricted),
      status: row.status as PatientStatus,
    }
    if (row.postcode !== null) record.postcode = row.postcode
    if (row.superseded_by !== null) record.superseded_by = row.superseded_by
    return record
  }
}

/** The columns a search may compare, each with the operator it is compared by. */
const searchable: readonly [keyof Omit<PatientSearch, 'limit'>, string, '=' | '>=' | '<=' | 'LIKE'][] = [
  ['family', 'family', '='],
  ['family_prefix', 'family', 'LIKE'],
  ['family_phonetic', 'family_phonetic', '='],
  ['given', 'given', '='],
  ['birth_date_from', 'birth_date', '>='],
  ['birth_date_to', 'birth_date', '<='],
  ['gender', 'gender', '='],
  ['postcode', 'postcode', '='],
]

/**
 * The statement that runs `criteria`, with `placeholder(n)` naming its n-th value (1-based). Only
 * active records, in the contract's order. The family name (exact or phonetic) comes first so
 * that the (family, birth_date) and (family_phonetic, birth_date) indexes serve it.
 */
export function patientSearchStatement(criteria: PatientSearch, placeholder: (n: number) => string): { text: string; values: (string | number)[] } {
  if (!Number.isSafeInteger(criteria.limit) || criteria.limit < 1) throw new RangeError('limit must be a positive integer')
  const conditions = ["status = 'active'"]
  const values: (string | number)[] = []
  for (const [field, column, operator] of searchable) {
    const value = criteria[field]
    if (value === undefined) continue
    // A prefix is normalised to A-Z only, so it holds none of LIKE's own characters (% and _).
    if (operator === 'LIKE' && !/^[A-Z]*$/.test(value)) throw new RangeError('family_prefix must be normalised (A-Z only)')
    values.push(operator === 'LIKE' ? `${value}%` : value)
    conditions.push(`${column} ${operator} ${placeholder(values.length)}`)
  }
  values.push(criteria.limit)
  return {
    text: `SELECT ${patientColumns} FROM patients WHERE ${conditions.join(' AND ')}
      ORDER BY family, given, birth_date, nhs_number LIMIT ${placeholder(values.length)}`,
    values,
  }
}

/** Rejects an update whose record does not follow from the one it replaces. */
export function checkPatientUpdate(nhsNumber: string, expectedVersion: number, record: PatientRecord): void {
  if (record.nhs_number !== nhsNumber) throw new RangeError('the record is of another NHS number')
  if (record.version !== expectedVersion + 1) throw new RangeError('the record must be the next version')
}
