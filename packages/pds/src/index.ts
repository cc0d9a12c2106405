export { isValidNhsNumber, nhsCheckDigit } from './nhs_number.ts'
export { CONFIDENTIALITY_SYSTEM, isRestricted, patientRecord } from './patient_record.ts'
export {
  DEFAULT_POPULATION_SEED,
  DEFAULT_POPULATION_SIZE,
  generatePopulation,
  NHS_NUMBER_SYSTEM,
  ODS_ORGANISATION_SYSTEM,
  type Population,
  type PopulationOptions,
} from './population.ts'
export { normaliseName, normalisePostcode, soundex } from './search_keys.ts'
export { patientApi, PDS_PRODUCT, type PatientApiDeps } from './patient_api.ts'
export { PDS_BASE_PATH } from './fhir_response.ts'
