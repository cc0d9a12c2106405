/**
 * The gateway's own answer to a refusal, for an API that maps none (the sample AAL3 API): what the
 * platform's shared flows answer when the API proxy leaves their errors as they are, as FHIR
 * OperationOutcomes.
 *
 * - A role failure is the user-role-service flow's 401, its text in `issue[0].diagnostics`
 *   (cis2.md 6.4, the five texts and the separate pattern's, exactly as the flow's tests read them).
 * - A token refused is the platform's 401 `ACCESS_DENIED` "Access Denied - Unauthorised" with the
 *   fault string as diagnostics; a token of an application not subscribed to the product is Apigee's
 *   "Invalid API call as no apiproduct match found", a 401 too.
 * - The request id rules and the rate limit are answered with the platform's texts for them.
 */
import { outcomeResponse, type GatewayRefusal, type OutcomeIssue, type RoleFailure, type ServiceResponse } from '@careid/ports'
import { stepUpDescription } from './step_up.ts'

/** The user-role-service flow's texts (cis2.md 6.4). */
export const roleFailureTexts: Readonly<Record<RoleFailure, string>> = {
  multiple_roles: 'multiple roles found in user info, please check NHSD-Session-URID',
  no_roles: 'no userroles available, please check NHSD-Session-URID is valid',
  selected_roleid_invalid: 'selected_roleid is misconfigured/invalid',
  roles_invalid: 'nhsid_nrbac_roles is misconfigured/invalid',
  urid_invalid: 'NHSD-Session-URID is invalid',
  selected_roleid_missing: 'selected_roleid is missing in your token',
}

function accessDenied(diagnostics: string): OutcomeIssue {
  return { severity: 'error', code: 'forbidden', spineCode: 'ACCESS_DENIED', display: 'Access Denied - Unauthorised', diagnostics }
}

export function sharedFlowRefusal(refusal: GatewayRefusal): ServiceResponse {
  switch (refusal.kind) {
    case 'access_denied':
      return outcomeResponse(401, accessDenied(refusal.diagnostics))
    case 'insufficient_scope':
      return outcomeResponse(401, accessDenied('Invalid API call as no apiproduct match found'))
    case 'insufficient_user_authentication':
      return outcomeResponse(401, accessDenied(stepUpDescription))
    case 'role':
      return outcomeResponse(401, accessDenied(roleFailureTexts[refusal.failure]))
    case 'rate_limited':
      return outcomeResponse(429, {
        severity: 'error',
        code: 'throttled',
        spineCode: 'TOO_MANY_REQUESTS',
        display: 'Too many requests',
        diagnostics:
          'Your application has created a spike in traffic and is being rate limited. Please reduce the frequency of your requests. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details.',
      })
    case 'invalid_request_id':
      return outcomeResponse(400, {
        severity: 'error',
        code: 'value',
        spineCode: 'INVALID_VALUE',
        display: 'Provided value is invalid',
        diagnostics: `Invalid value - '${refusal.value}' in header 'X-Request-ID'`,
      })
    case 'missing_request_id':
      return outcomeResponse(400, {
        severity: 'error',
        code: 'required',
        spineCode: 'MISSING_VALUE',
        display: 'Required value is missing',
        diagnostics: 'Invalid request with error - X-Request-ID header must be supplied to access this resource',
      })
  }
}
