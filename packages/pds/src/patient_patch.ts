/**
 * `PATCH /Patient/{id}` (cis2.md 6.6, PDS's patient-patch): an RFC 6902 JSON Patch, sent as
 * `application/json-patch+json` with `If-Match: W/"<version>"`. PDS's body is `{"patches": [...]}`;
 * a bare RFC 6902 array is taken too. The patched record must be a valid R4 Patient; it is stored
 * only if the version is still the one the caller read (compare-and-set), as version + 1, and the
 * answer is the new resource with its new ETag. Refusals follow PDS's order and texts (its sandbox
 * and tests): the NHS number, the If-Match header, the content type, the record, the patches, the
 * version, then the operations.
 */
import jsonpatch, { type Operation } from 'fast-json-patch'
import type { Patient } from 'fhir/r4.js'
import type { ApiRoute, PatientStore } from '@careid/ports'
import { resourceResponse } from './fhir_response.ts'
import { isValidNhsNumber } from './nhs_number.ts'
import { isRecord, storedRecord } from './patient_lookup.ts'
import { isRestricted, patientRecord } from './patient_record.ts'
import { patientProblem } from './patient_validation.ts'
import {
  forbiddenUpdate,
  invalidatedResource,
  invalidMethodAppRestricted,
  invalidResourceId,
  invalidUpdate,
  invalidValue,
  preconditionFailed,
  resourceVersionMismatch,
  unsupportedService,
} from './pds_outcomes.ts'

const { applyPatch, deepClone, JsonPatchError } = jsonpatch

/** PDS's JsonPatch schema: `op` is one of these (no move or copy). */
const OPERATIONS = new Set(['add', 'replace', 'remove', 'test'])
/** The content types PDS takes for a patch (its sandbox accepts any `application/json...`). */
const PATCH_TYPES = new Set(['application/json-patch+json', 'application/json'])
/**
 * Elements no caller may patch: the resource's identity (type, id and NHS number) and its
 * metadata (version and security label), which PDS itself keeps.
 */
const PROTECTED = /^\/(resourceType|id|meta|identifier)(\/|$)/

/** The version a `W/"<n>"` If-Match names, or undefined when the header is not of that form. */
function ifMatchVersion(header: string | undefined): number | undefined {
  const match = header === undefined ? null : /^W\/"([0-9]{1,9})"$/.exec(header)
  return match === null ? undefined : Number(match[1])
}

export function patientPatchRoute(patients: PatientStore): ApiRoute {
  return {
    method: 'PATCH',
    path: '/Patient/:id',
    async handle(request, caller) {
      if (caller.mode === 'application') return invalidMethodAppRestricted()
      const nhsNumber = request.params['id'] ?? ''
      if (!isValidNhsNumber(nhsNumber)) return invalidResourceId()
      const expected = ifMatchVersion(request.header('if-match'))
      if (expected === undefined) return preconditionFailed('Invalid request with error - If-Match header must be supplied to update this resource')
      if (request.contentType === undefined || !PATCH_TYPES.has(request.contentType)) return unsupportedService()
      const found = await storedRecord(patients, nhsNumber)
      if (!isRecord(found)) return found
      if (found.status === 'invalidated') return invalidatedResource()
      if (found.status === 'merged') return forbiddenUpdate('Forbidden update with error - Update Failed - NHS No. supplied has been superseded in a merge')

      const body = request.body
      const patches: unknown = Array.isArray(body) ? body : typeof body === 'object' && body !== null ? (body as { patches?: unknown }).patches : undefined
      if (!Array.isArray(patches) || patches.length === 0) return invalidUpdate('Invalid update with error - No patches found')
      if (expected !== found.version) return resourceVersionMismatch()

      const original = found.resource as unknown as Patient
      // "updating a sensitive patient ... is only permitted from certain systems" (patient-patch, FORBIDDEN_UPDATE).
      if (isRestricted(original)) return forbiddenUpdate('Forbidden update with error - source not permitted to update a restricted patient')
      for (const [index, patch] of patches.entries()) {
        const op = typeof patch === 'object' && patch !== null ? (patch as { op?: unknown }).op : undefined
        if (typeof op !== 'string' || !OPERATIONS.has(op)) return invalidValue(`Invalid value - '${typeof op === 'string' ? op : ''}' in field '${index}/op'`)
        const path = (patch as { path?: unknown }).path
        if (typeof path !== 'string') return invalidValue(`Invalid value - '' in field '${index}/path'`)
        if (path === '' || PROTECTED.test(path)) {
          return invalidUpdate('Invalid update with error - This user does not have permission to update the fields in the patches provided.')
        }
      }

      let patched: Patient
      try {
        patched = applyPatch(deepClone(original) as Patient, patches as Operation[], true, false).newDocument
      } catch (error) {
        if (!(error instanceof JsonPatchError)) throw error
        // The library's message goes on to print the document; only its first line is the reason.
        return invalidUpdate(`Invalid update with error - Invalid patch - ${error.message.split('\n')[0]}`)
      }
      const problem = await patientProblem(patched)
      if (problem !== undefined) return invalidUpdate(`Invalid update with error - ${problem}`)

      const version = found.version + 1
      patched.meta = { ...patched.meta, versionId: String(version) }
      const stored = await patients.update(found.nhs_number, found.version, patientRecord(patched, 'active'))
      // Another writer stored a newer version between our read and our write.
      if (!stored) return resourceVersionMismatch()
      return resourceResponse(patched, version)
    },
  }
}
