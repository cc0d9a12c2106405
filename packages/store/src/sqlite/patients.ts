/**
 * The demographics service's patients in the embedded store.
 */
import type Database from 'libsql'
import type { PatientRecord, PatientStore } from '@careid/ports'
import { checkPatientUpdate, patientColumns, patientReader, patientSearchStatement, type PatientRow } from '../patient_rows.ts'
import { sqliteColumnDecoder, type Sqlite, type SqliteColumns } from './database.ts'

const toPatient = patientReader(sqliteColumnDecoder)

function values(record: PatientRecord) {
  return {
    nhs_number: record.nhs_number,
    version: record.version,
    resource: JSON.stringify(record.resource),
    family: record.family,
    given: record.given,
    family_phonetic: record.family_phonetic,
    birth_date: record.birth_date,
    gender: record.gender,
    postcode: record.postcode ?? null,
    restricted: record.restricted ? 1 : 0,
    status: record.status,
    superseded_by: record.superseded_by ?? null,
  }
}

/** Patients, keyed by NHS number. */
export function sqlitePatientStore(sqlite: Sqlite): PatientStore {
  const { db } = sqlite
  const select = db.prepare(`SELECT ${patientColumns} FROM patients WHERE nhs_number = ?`)
  const insert = db.prepare(`
    INSERT INTO patients (${patientColumns})
    VALUES (@nhs_number, @version, @resource, @family, @given, @family_phonetic, @birth_date, @gender, @postcode,
      @restricted, @status, @superseded_by)`)
  const update = db.prepare(`
    UPDATE patients SET version = @version, resource = @resource, family = @family, given = @given,
      family_phonetic = @family_phonetic, birth_date = @birth_date, gender = @gender, postcode = @postcode,
      restricted = @restricted, status = @status, superseded_by = @superseded_by
    WHERE nhs_number = @nhs_number AND version = @expected`)
  const count = db.prepare('SELECT count(*) AS n FROM patients')
  // A search's statement depends only on which criteria are given (a few dozen shapes), so each
  // shape is prepared once.
  const searches = new Map<string, Database.Statement<(string | number)[]>>()

  return {
    async get(nhsNumber) {
      const row = select.get(nhsNumber) as PatientRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toPatient(row)
    },
    async putMany(records) {
      sqlite.write(() => {
        for (const record of records) insert.run(values(record))
      })
    },
    async search(criteria) {
      const statement = patientSearchStatement(criteria, () => '?')
      let prepared = searches.get(statement.text)
      if (prepared === undefined) searches.set(statement.text, (prepared = db.prepare(statement.text)))
      return (prepared.all(...statement.values) as PatientRow<SqliteColumns>[]).map(toPatient)
    },
    async update(nhsNumber, expectedVersion, record) {
      checkPatientUpdate(nhsNumber, expectedVersion, record)
      return update.run({ ...values(record), expected: expectedVersion }).changes > 0
    },
    async count() {
      return (count.get() as { n: number }).n
    },
  }
}
