/**
 * PDS's own answers that carry an OperationOutcome: each with the Spine code, issue code, severity,
 * display and status PDS gives it (NHS England's sandbox stubs and proxy policies, cis2.md 6.6 and
 * 6.7), written through the one OperationOutcome writer. The diagnostics are PDS's texts. (The
 * gateway echoes the request's ids on every answer, and sets a refusal's protocol headers.)
 */
import { outcomeResponse, type ServiceResponse } from '@careid/ports'

function answer(status: number, severity: 'error' | 'information', code: string, spineCode: string, display: string, diagnostics?: string): ServiceResponse {
  return outcomeResponse(status, { severity, code, spineCode, display, diagnostics })
}

/** 400: the id is not a valid NHS number (modulus 11). */
export const invalidResourceId = (): ServiceResponse => answer(400, 'error', 'value', 'INVALID_RESOURCE_ID', 'Resource Id is invalid')

/** 404: no record of this NHS number; PDS gives it severity "information" (cis2.md 6.7). */
export const resourceNotFound = (): ServiceResponse => answer(404, 'information', 'not-found', 'RESOURCE_NOT_FOUND', 'Resource not found')

/** 404: the record was invalidated and not superseded by another NHS number. */
export const invalidatedResource = (): ServiceResponse =>
  answer(404, 'error', 'processing', 'INVALIDATED_RESOURCE', 'Resource that has been marked as invalid was requested - invalid resources cannot be retrieved')

/** 400 `value`: a header, query or patch value PDS does not accept. */
export const invalidValue = (diagnostics: string): ServiceResponse => answer(400, 'error', 'value', 'INVALID_VALUE', 'Provided value is invalid', diagnostics)

/** 400 `required`: a value PDS needs is missing. */
export const missingValue = (diagnostics: string): ServiceResponse => answer(400, 'error', 'required', 'MISSING_VALUE', 'Required value is missing', diagnostics)

/** 400: the search parameters make no search PDS performs. */
export const invalidSearchData = (diagnostics: string): ServiceResponse => answer(400, 'error', 'value', 'INVALID_SEARCH_DATA', 'Search data is invalid', diagnostics)

/** 400: a search with no parameters, or a PATCH of another content type (no diagnostics, as PDS). */
export const unsupportedService = (): ServiceResponse => answer(400, 'error', 'processing', 'UNSUPPORTED_SERVICE', 'Unsupported Service')

/** 400 `invariant`: query parameters PDS does not know. */
export const additionalProperties = (diagnostics: string): ServiceResponse =>
  answer(400, 'error', 'invariant', 'ADDITIONAL_PROPERTIES', 'Additional properties should not be included', diagnostics)

/** 400 `structure`: a patch PDS will not apply, or whose result is not a valid Patient. */
export const invalidUpdate = (diagnostics: string): ServiceResponse => answer(400, 'error', 'structure', 'INVALID_UPDATE', 'Update is invalid', diagnostics)

/** 412: a PATCH without a usable `If-Match`. */
export const preconditionFailed = (diagnostics: string): ServiceResponse =>
  answer(412, 'error', 'structure', 'PRECONDITION_FAILED', 'Required condition was not fulfilled', diagnostics)

/** 409: the `If-Match` version is not the stored one (or another writer got there first). */
export const resourceVersionMismatch = (): ServiceResponse =>
  answer(409, 'error', 'conflict', 'RESOURCE_VERSION_MISMATCH', 'Resource version supplied does not match actual version')

/** 403: an update PDS forbids; PDS gives it severity "information". */
export const forbiddenUpdate = (diagnostics: string): ServiceResponse => answer(403, 'information', 'forbidden', 'FORBIDDEN_UPDATE', 'Update is forbidden', diagnostics)

/** 403: PATCH in application-restricted mode (the proxy's RaiseFault.PatchMethodNotAllowedAppRestricted). */
export const invalidMethodAppRestricted = (): ServiceResponse =>
  answer(
    403,
    'error',
    'forbidden',
    'INVALID_METHOD',
    'Cannot update resource with application-restricted access token',
    'Your app has insufficient permissions to use this method. Please contact support.',
  )

/** 403: more than one result asked for in application-restricted mode (RaiseFault.MaxResultsInvalidAppRestricted). */
export const maxResultsAppRestricted = (): ServiceResponse =>
  answer(
    403,
    'error',
    'token',
    'INVALID_VALUE',
    'Cannot retrieve more than one result with application-restricted access token',
    'Your app has insufficient permissions to perform this search. Please contact support.',
  )

/** 200 `multiple-matches`: more patients match than `_max-results` allows (a warning, not an error; cis2.md 6.7). */
export const tooManyMatches = (): ServiceResponse => answer(200, 'information', 'multiple-matches', 'TOO_MANY_MATCHES', 'Too Many Matches')

/** 401: the platform token was refused (the proxy's AssignMessage.Errors.OAuthPolicyResponse). */
export const accessDenied = (diagnostics: string): ServiceResponse => answer(401, 'error', 'forbidden', 'ACCESS_DENIED', 'Access Denied - Unauthorised', diagnostics)

/** 429: the application's rate limit (AssignMessage.Errors.ProxyRatelimitExceeded; its issue code is `value`). */
export const tooManyRequests = (): ServiceResponse =>
  answer(
    429,
    'error',
    'value',
    'TOO_MANY_REQUESTS',
    'Too many requests',
    'This API is currently receiving a high volume of requests and is being rate limited. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details.',
  )
