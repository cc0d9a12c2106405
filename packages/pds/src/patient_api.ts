/**
 * The PDS-like FHIR R4 Patient API as the gateway serves it: product
 * `personal-demographics-service` at `/personal-demographics/FHIR/R4` (cis2.md 6.6), its routes,
 * and PDS's own mapping of the gateway's refusals (cis2.md 6.7).
 */
import type { GatewayApi, PatientStore } from '@careid/ports'
import { PDS_BASE_PATH } from './fhir_response.ts'
import { refusePds } from './gateway_refusals.ts'
import { patientPatchRoute } from './patient_patch.ts'
import { patientReadRoute } from './patient_read.ts'
import { patientSearchRoute } from './patient_search.ts'
import { relatedPersonRoute } from './related_person.ts'

export const PDS_PRODUCT = 'personal-demographics-service'

export interface PatientApiDeps {
  patients: PatientStore
  /** Epoch milliseconds (a Bundle's timestamp). */
  now: () => number
  /** The platform's public origin, for `fullUrl`s; else the request's Host, over https. */
  origin?: string | undefined
}

export function patientApi(deps: PatientApiDeps): GatewayApi {
  return {
    product: PDS_PRODUCT,
    basePath: PDS_BASE_PATH,
    routes: [
      patientSearchRoute(deps.patients, deps.now, deps.origin),
      patientReadRoute(deps.patients),
      patientPatchRoute(deps.patients),
      relatedPersonRoute(deps.patients, deps.now, deps.origin),
    ],
    refuse: refusePds,
  }
}
