/**
 * A FHIR Patient as the store keeps it: the resource, with the search columns computed from it here
 * (the store compares them, it never reads the resource).
 */
// @types/fhir's R4 module (types only); named with .js as Node's ESM resolution names a file of a
// package that declares no exports.
import type { Patient } from 'fhir/r4.js'
import type { Json, PatientRecord, PatientStatus } from '@careid/ports'
import { normaliseName, normalisePostcode, soundex } from './search_keys.ts'

/** PDS marks a patient's confidentiality in `meta.security` with this system; `R` is restricted. */
export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality'

/** Whether PDS treats the patient as restricted (`meta.security` code `R`, or `V` very restricted). */
export function isRestricted(patient: Patient): boolean {
  return (patient.meta?.security ?? []).some((label) => label.system === CONFIDENTIALITY_SYSTEM && (label.code === 'R' || label.code === 'V'))
}

/** The name PDS searches: the `usual` one, else the first. */
function searchName(patient: Patient): { family: string; given: string } {
  const name = patient.name?.find((n) => n.use === 'usual') ?? patient.name?.[0]
  return { family: name?.family ?? '', given: name?.given?.[0] ?? '' }
}

/**
 * The record to store for `patient` (whose `id` is its NHS number and `meta.versionId` its version),
 * `status` and, for a merged record, the NHS number it was merged into.
 */
export function patientRecord(patient: Patient, status: PatientStatus = 'active', supersededBy?: string): PatientRecord {
  if (patient.id === undefined) throw new RangeError('a stored patient needs its NHS number as id')
  const { family, given } = searchName(patient)
  const postcode = (patient.address?.find((a) => a.use === 'home') ?? patient.address?.[0])?.postalCode
  const record: PatientRecord = {
    nhs_number: patient.id,
    version: Number(patient.meta?.versionId ?? '1'),
    resource: patient as unknown as { [key: string]: Json },
    family: normaliseName(family),
    given: normaliseName(given),
    family_phonetic: soundex(family),
    birth_date: patient.birthDate ?? '',
    gender: patient.gender ?? 'unknown',
    restricted: isRestricted(patient),
    status,
  }
  if (postcode !== undefined) record.postcode = normalisePostcode(postcode)
  if (supersededBy !== undefined) record.superseded_by = supersededBy
  return record
}
