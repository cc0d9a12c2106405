/**
 * The demographics service's patients in PostgreSQL.
 */
import type { PatientRecord, PatientStore } from '@careid/ports'
import { checkPatientUpdate, patientColumns, patientReader, patientSearchStatement, type PatientRow } from '../patient_rows.ts'
import { postgresColumnDecoder, type Postgres, type PostgresColumns } from './database.ts'

const toPatient = patientReader(postgresColumnDecoder)

/** Rows per INSERT while seeding: few round trips, each statement well inside the statement timeout. */
const BATCH = 1000

function values(record: PatientRecord): unknown[] {
  return [
    record.nhs_number,
    record.version,
    JSON.stringify(record.resource),
    record.family,
    record.given,
    record.family_phonetic,
    record.birth_date,
    record.gender,
    record.postcode ?? null,
    record.restricted,
    record.status,
    record.superseded_by ?? null,
  ]
}

/** Patients, keyed by NHS number. */
export function postgresPatientStore(postgres: Postgres): PatientStore {
  const { query } = postgres
  return {
    async get(nhsNumber) {
      const { rows } = await query<PatientRow<PostgresColumns>>(`SELECT ${patientColumns} FROM patients WHERE nhs_number = $1`, [nhsNumber])
      return rows[0] === undefined ? undefined : toPatient(rows[0])
    },
    async putMany(records) {
      if (records.length === 0) return
      await postgres.unit(async (on) => {
        for (let start = 0; start < records.length; start += BATCH) {
          // One statement per batch: each column's values as one array parameter, zipped by unnest.
          const columns: unknown[][] = Array.from({ length: 12 }, () => [])
          for (const record of records.slice(start, start + BATCH)) values(record).forEach((value, i) => columns[i]!.push(value))
          await on.query(
            `INSERT INTO patients (${patientColumns})
            SELECT n, v, r::jsonb, f, g, fp, b, gd, pc, rs, s, sb
            FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
              $9::text[], $10::boolean[], $11::text[], $12::text[]) AS t (n, v, r, f, g, fp, b, gd, pc, rs, s, sb)`,
            columns,
          )
        }
      })
    },
    async search(criteria) {
      const statement = patientSearchStatement(criteria, (n) => `$${n}`)
      const { rows } = await query<PatientRow<PostgresColumns>>(statement.text, statement.values)
      return rows.map(toPatient)
    },
    async update(nhsNumber, expectedVersion, record) {
      checkPatientUpdate(nhsNumber, expectedVersion, record)
      const { rowCount } = await query(
        `UPDATE patients SET version = $2, resource = $3::jsonb, family = $4, given = $5, family_phonetic = $6,
          birth_date = $7, gender = $8, postcode = $9, restricted = $10, status = $11, superseded_by = $12
        WHERE nhs_number = $1 AND version = $13`,
        [...values(record), expectedVersion],
      )
      return (rowCount ?? 0) > 0
    },
    async count() {
      const { rows } = await query<{ n: string }>('SELECT count(*) AS n FROM patients')
      return Number(rows[0]!.n)
    },
  }
}
