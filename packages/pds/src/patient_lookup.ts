/**
 * Finding the record an NHS number in a path names, as PDS does: the number must pass the
 * modulus 11 check (else 400 INVALID_RESOURCE_ID); an unknown number is 404 RESOURCE_NOT_FOUND;
 * an invalidated record is 404 INVALIDATED_RESOURCE; a merged (superseded) record answers with the
 * record it was merged into ("the new details are automatically returned in place of the
 * requested details", PDS's specification, patient-get).
 */
import type { PatientRecord, PatientStore, ServiceResponse } from '@careid/ports'
import { isValidNhsNumber } from './nhs_number.ts'
import { invalidatedResource, invalidResourceId, resourceNotFound } from './pds_outcomes.ts'

/** A chain of merges longer than this is a broken store, not a patient. */
const MAX_MERGE_HOPS = 5

/** The record at `nhsNumber` itself, whatever its status, or PDS's refusal of the number. */
export async function storedRecord(patients: PatientStore, nhsNumber: string): Promise<PatientRecord | ServiceResponse> {
  if (!isValidNhsNumber(nhsNumber)) return invalidResourceId()
  return (await patients.get(nhsNumber)) ?? resourceNotFound()
}

/** The active record `nhsNumber` leads to, following merges, or PDS's refusal. */
export async function currentRecord(patients: PatientStore, nhsNumber: string): Promise<PatientRecord | ServiceResponse> {
  let found = await storedRecord(patients, nhsNumber)
  for (let hops = 0; isRecord(found) && found.status === 'merged'; hops++) {
    if (found.superseded_by === undefined || hops === MAX_MERGE_HOPS) return resourceNotFound()
    found = (await patients.get(found.superseded_by)) ?? resourceNotFound()
  }
  if (isRecord(found) && found.status === 'invalidated') return invalidatedResource()
  return found
}

export function isRecord(value: PatientRecord | ServiceResponse): value is PatientRecord {
  return 'nhs_number' in value
}
