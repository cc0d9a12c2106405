/**
 * Careid's addition for a product only an AAL3 sign-in may use (`ApiProduct.aal3Only`; not the
 * platform's behaviour, cis2.md 6.7): a healthcare worker's token from a sign-in below AAL3 is
 * refused with OAuth 2.0 Step Up Authentication (RFC 9470 section 3), so the client knows to sign
 * the worker in again at AAL3: a 401 whose `WWW-Authenticate` carries the error
 * `insufficient_user_authentication` and the `acr_values` the API needs. The gateway sets that
 * header whatever body the API answers with.
 */

/** The `acr_values` an AAL3-only product asks for: CIS2's value for any AAL3 authenticator. */
export const aal3AcrValues = 'AAL3_ANY'

/** Whether a sign-in at assurance level `aal` falls short of the product. */
export function needsStepUp(aal3Only: boolean, aal: number): boolean {
  return aal3Only && aal < 3
}

/** RFC 9470 section 3's challenge: `Bearer error="insufficient_user_authentication", error_description="...", acr_values="..."`. */
export function stepUpChallenge(acrValues: string): string {
  return `Bearer error="insufficient_user_authentication", error_description="${stepUpDescription}", acr_values="${acrValues}"`
}

export const stepUpDescription = 'A sign-in at AAL3 is required to use this API'
