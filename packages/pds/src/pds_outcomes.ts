/**
 * PDS's own answers that carry an OperationOutcome: each with the Spine code, issue code, severity,
 * display and status PDS gives it (NHS England's sandbox stubs and proxy policies, cis2.md 6.6 and
 * 6.7), written through the one OperationOutcome writer. The diagnostics are PDS's texts.
 */
import { outcomeResponse, type ServiceRequest, type ServiceResponse } from '@careid/ports'
import { fhirHeaders } from './fhir_response.ts'

/** An answer of `status` with one issue; headers echo the request's ids, as PDS does on errors too. */
function answer(
  request: ServiceRequest,
  status: number,
  severity: 'error' | 'information' | 'warning',
  code: string,
  spineCode: string,
  display: string,
  diagnostics?: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): ServiceResponse {
  return outcomeResponse(status, { severity, code, spineCode, display, diagnostics }, { ...fhirHeaders(request), ...extraHeaders })
}

/** 400: the id is not a valid NHS number (modulus 11). */
export const invalidResourceId = (r: ServiceRequest): ServiceResponse => answer(r, 400, 'error', 'value', 'INVALID_RESOURCE_ID', 'Resource Id is invalid')

/** 404: no record of this NHS number; PDS gives it severity "information" (cis2.md 6.7). */
export const resourceNotFound = (r: ServiceRequest): ServiceResponse => answer(r, 404, 'information', 'not-found', 'RESOURCE_NOT_FOUND', 'Resource not found')

/** 404: the record was invalidated and not superseded by another NHS number. */
export const invalidatedResource = (r: ServiceRequest): ServiceResponse =>
  answer(r, 404, 'error', 'processing', 'INVALIDATED_RESOURCE', 'Resource that has been marked as invalid was requested - invalid resources cannot be retrieved')

/** 400 `value`: a header, query or patch value PDS does not accept. */
export const invalidValue = (r: ServiceRequest, diagnostics: string): ServiceResponse =>
  answer(r, 400, 'error', 'value', 'INVALID_VALUE', 'Provided value is invalid', diagnostics)

/** 400 `required`: a value PDS needs is missing. */
export const missingValue = (r: ServiceRequest, diagnostics: string): ServiceResponse =>
  answer(r, 400, 'error', 'required', 'MISSING_VALUE', 'Required value is missing', diagnostics)

/** 400: the search parameters make no search PDS performs. */
export const invalidSearchData = (r: ServiceRequest, diagnostics: string): ServiceResponse =>
  answer(r, 400, 'error', 'value', 'INVALID_SEARCH_DATA', 'Search data is invalid', diagnostics)

/** 400: a search with no parameters, or a PATCH of another content type (no diagnostics, as PDS). */
export const unsupportedService = (r: ServiceRequest): ServiceResponse => answer(r, 400, 'error', 'processing', 'UNSUPPORTED_SERVICE', 'Unsupported Service')

/** 400 `invariant`: query parameters PDS does not know. */
export const additionalProperties = (r: ServiceRequest, diagnostics: string): ServiceResponse =>
  answer(r, 400, 'error', 'invariant', 'ADDITIONAL_PROPERTIES', 'Additional properties should not be included', diagnostics)

/** 400 `structure`: a patch PDS will not apply, or whose result is not a valid Patient. */
export const invalidUpdate = (r: ServiceRequest, diagnostics: string): ServiceResponse =>
  answer(r, 400, 'error', 'structure', 'INVALID_UPDATE', 'Update is invalid', diagnostics)

/** 412: a PATCH without a usable `If-Match`. */
export const preconditionFailed = (r: ServiceRequest, diagnostics: string): ServiceResponse =>
  answer(r, 412, 'error', 'structure', 'PRECONDITION_FAILED', 'Required condition was not fulfilled', diagnostics)

/** 409: the `If-Match` version is not the stored one (or another writer got there first). */
export const resourceVersionMismatch = (r: ServiceRequest): ServiceResponse =>
  answer(r, 409, 'error', 'conflict', 'RESOURCE_VERSION_MISMATCH', 'Resource version supplied does not match actual version')

/** 403: an update PDS forbids; PDS gives it severity "information". */
export const forbiddenUpdate = (r: ServiceRequest, diagnostics: string): ServiceResponse =>
  answer(r, 403, 'information', 'forbidden', 'FORBIDDEN_UPDATE', 'Update is forbidden', diagnostics)

/** 403: PATCH in application-restricted mode (the proxy's RaiseFault.PatchMethodNotAllowedAppRestricted). */
export const invalidMethodAppRestricted = (r: ServiceRequest): ServiceResponse =>
  answer(
    r,
    403,
    'error',
    'forbidden',
    'INVALID_METHOD',
    'Cannot update resource with application-restricted access token',
    'Your app has insufficient permissions to use this method. Please contact support.',
  )

/** 403: more than one result asked for in application-restricted mode (RaiseFault.MaxResultsInvalidAppRestricted). */
export const maxResultsAppRestricted = (r: ServiceRequest): ServiceResponse =>
  answer(
    r,
    403,
    'error',
    'token',
    'INVALID_VALUE',
    'Cannot retrieve more than one result with application-restricted access token',
    'Your app has insufficient permissions to perform this search. Please contact support.',
  )

/** 200 `multiple-matches`: more patients match than `_max-results` allows (a warning, not an error; cis2.md 6.7). */
export const tooManyMatches = (r: ServiceRequest): ServiceResponse =>
  answer(r, 200, 'information', 'multiple-matches', 'TOO_MANY_MATCHES', 'Too Many Matches')

/** 401: the platform token was refused (the proxy's AssignMessage.Errors.OAuthPolicyResponse). */
export const accessDenied = (r: ServiceRequest, diagnostics: string, extraHeaders?: Readonly<Record<string, string>>): ServiceResponse =>
  answer(r, 401, 'error', 'forbidden', 'ACCESS_DENIED', 'Access Denied - Unauthorised', diagnostics, extraHeaders)

/** 429: the application's rate limit (AssignMessage.Errors.ProxyRatelimitExceeded; its issue code is `value`). */
export const tooManyRequests = (r: ServiceRequest, retryAfterSeconds: number): ServiceResponse =>
  answer(
    r,
    429,
    'error',
    'value',
    'TOO_MANY_REQUESTS',
    'Too many requests',
    'This API is currently receiving a high volume of requests and is being rate limited. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details.',
    { 'retry-after': String(retryAfterSeconds) },
  )
