/**
 * PDS's own answers to the gateway's refusals (cis2.md 6.7, read from the PDS proxy:
 * targets/ig3.xml and its AssignMessage/RaiseFault policies), in place of the gateway's defaults.
 */
import type { GatewayRefusal, ServiceRequest, ServiceResponse } from '@careid/ports'
import { accessDenied, invalidValue, missingValue, tooManyRequests } from './pds_outcomes.ts'

/**
 * The diagnostics of a refused token, as the proxy's UpdateInvalidAccessTokenFaultString.js
 * explains them from the Authorization header; a well-formed bearer token the platform does not
 * honour keeps Apigee's own fault string.
 */
function tokenDiagnostics(request: ServiceRequest, platformFault: string): string {
  const authorization = request.header('authorization')
  if (authorization === undefined) return 'Missing Authorization header'
  if (authorization === '') return 'Empty Authorization header'
  const words = authorization.split(' ')
  if (words.length === 1) return 'Missing access token'
  if (words[0] !== 'Bearer') return `Invalid token type '${words[0]}', must be 'Bearer'`
  return platformFault
}

/** How PDS answers `refusal`. */
export function refusePds(refusal: GatewayRefusal, request: ServiceRequest): ServiceResponse {
  switch (refusal.kind) {
    case 'missing_request_id':
      return missingValue(request, 'Invalid request with error - X-Request-ID header must be supplied to access this resource')
    case 'invalid_request_id':
      return invalidValue(request, `Invalid value - '${refusal.value}' in header 'X-Request-ID'`)
    case 'access_denied':
      // Apigee's OAuthV2 fault string for an unknown, expired or revoked token.
      return accessDenied(request, tokenDiagnostics(request, 'Invalid access token'))
    case 'insufficient_scope':
      // A token of an application whose products do not include PDS fails the proxy's
      // VerifyAccessToken too, with Apigee's fault string for a product mismatch.
      return accessDenied(request, tokenDiagnostics(request, 'Invalid API call as no apiproduct match found'))
    case 'insufficient_user_authentication':
      // PDS accepts AAL2 and AAL3 sign-ins (cis2.md 6.7); should the catalogue ever mark it AAL3
      // only, the step-up challenge RFC 9470 asks for goes with PDS's 401.
      return accessDenied(request, 'Insufficient user authentication', {
        'www-authenticate': `Bearer error="insufficient_user_authentication", acr_values="${refusal.acrValues}"`,
      })
    case 'role':
      // Every role failure is PDS's 400 (AssignMessage.Errors.UserRoleSharedFlow), naming the
      // header's value, empty when it was not sent: not the shared flow's 401.
      return invalidValue(
        request,
        `Invalid value - '${refusal.headerValue ?? ''}' in header 'NHSD-Session-URID'. Refer to the guidance for this header in our API Specification https://digital.nhs.uk/developer/api-catalogue/personal-demographics-service-fhir`,
      )
    case 'rate_limited':
      return tooManyRequests(request, refusal.retryAfterSeconds)
  }
}
