/**
 * What a restricted patient's record shows (cis2.md 6.6): PDS removes the location-sensitive
 * fields `address`, `telecom`, `contact` and `generalPractitioner`, and keeps the `meta.security`
 * flag that says why.
 */
import type { Patient } from 'fhir/r4.js'
import { isRestricted } from './patient_record.ts'

/** `patient` as the API shows it: a copy without the location-sensitive fields when restricted. */
export function shownPatient(patient: Patient): Patient {
  if (!isRestricted(patient)) return patient
  const { address: _address, telecom: _telecom, contact: _contact, generalPractitioner: _gp, ...shown } = patient
  return shown
}
