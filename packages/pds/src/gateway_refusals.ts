/**
 * PDS's own answers to the gateway's refusals (cis2.md 6.7, read from the PDS proxy:
 * targets/ig3.xml and its AssignMessage/RaiseFault policies), in place of the gateway's defaults.
 * The gateway adds the protocol headers (`WWW-Authenticate`, `Retry-After`) and the echoed ids.
 */
import type { GatewayRefusal, ServiceResponse } from '@careid/ports'
import { accessDenied, invalidValue, missingValue, tooManyRequests } from './pds_outcomes.ts'

/** How PDS answers `refusal`. */
export function refusePds(refusal: GatewayRefusal): ServiceResponse {
  switch (refusal.kind) {
    case 'missing_request_id':
      return missingValue('Invalid request with error - X-Request-ID header must be supplied to access this resource')
    case 'invalid_request_id':
      return invalidValue(`Invalid value - '${refusal.value}' in header 'X-Request-ID'`)
    case 'access_denied':
      // The platform's fault string, as the proxy's OAuthPolicyResponse passes it on.
      return accessDenied(refusal.diagnostics)
    case 'insufficient_scope':
      // A token of an application whose products do not include PDS fails the proxy's
      // VerifyAccessToken, with Apigee's fault string for a product mismatch.
      return accessDenied('Invalid API call as no apiproduct match found')
    case 'insufficient_user_authentication':
      // PDS accepts AAL2 and AAL3 sign-ins (cis2.md 6.7); should the catalogue ever mark it AAL3
      // only, the refusal is PDS's 401 beside the gateway's step-up challenge.
      return accessDenied('A sign-in at AAL3 is required to use this API')
    case 'role':
      // Every role failure is PDS's 400 (AssignMessage.Errors.UserRoleSharedFlow), naming the
      // header's value, empty when it was not sent: not the shared flow's 401.
      return invalidValue(
        `Invalid value - '${refusal.headerValue ?? ''}' in header 'NHSD-Session-URID'. Refer to the guidance for this header in our API Specification https://digital.nhs.uk/developer/api-catalogue/personal-demographics-service-fhir`,
      )
    case 'rate_limited':
      return tooManyRequests()
  }
}
