/**
 * `GET /Patient/{id}` (cis2.md 6.6): the patient's record with `ETag: W/"<versionId>"`; a merged
 * number answers with the surviving record (its `id` differs from the one asked for); a restricted
 * patient's location-sensitive fields are removed.
 */
import type { Patient } from 'fhir/r4.js'
import type { ApiRoute, PatientStore } from '@careid/ports'
import { resourceResponse } from './fhir_response.ts'
import { currentRecord, isRecord } from './patient_lookup.ts'
import { shownPatient } from './restricted_redaction.ts'

export function patientReadRoute(patients: PatientStore): ApiRoute {
  return {
    method: 'GET',
    path: '/Patient/:id',
    async handle(request) {
      const found = await currentRecord(patients, request.params['id'] ?? '')
      if (!isRecord(found)) return found
      return resourceResponse(shownPatient(found.resource as unknown as Patient), found.version)
    },
  }
}
