/**
 * A FHIR R4 OperationOutcome, the body every refusal of an API behind the gateway carries (and PDS's
 * `TOO_MANY_MATCHES` warning): the one place its wire shape is written, for the gateway's own
 * refusals and the APIs'. Each issue names its Spine code from
 * `https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode`, as NHS England's APIs do.
 */
import type { ServiceResponse } from './service.ts'

export const SPINE_ERROR_OR_WARNING_CODE = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode'

export interface OutcomeIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information'
  /** The FHIR issue type (`value`, `required`, `forbidden`, `not-found`, `multiple-matches`, ...). */
  code: string
  /** The Spine code (`INVALID_VALUE`, `ACCESS_DENIED`, ...) and its display text. */
  spineCode: string
  display: string
  /** What exactly was wrong; never a token or personal data beyond what the caller sent. */
  diagnostics?: string | undefined
}

/** The OperationOutcome resource of these issues. */
export function operationOutcome(...issues: OutcomeIssue[]): { resourceType: 'OperationOutcome'; issue: unknown[] } {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((issue) => ({
      severity: issue.severity,
      code: issue.code,
      details: { coding: [{ system: SPINE_ERROR_OR_WARNING_CODE, version: '1', code: issue.spineCode, display: issue.display }] },
      ...(issue.diagnostics === undefined ? {} : { diagnostics: issue.diagnostics }),
    })),
  }
}

/** A response carrying an OperationOutcome, as `application/fhir+json`. */
export function outcomeResponse(status: number, issue: OutcomeIssue, headers: Readonly<Record<string, string>> = {}): ServiceResponse {
  return { status, headers: { 'content-type': 'application/fhir+json', ...headers }, json: operationOutcome(issue) }
}
