/**
 * The wire of the Patient API's successful answers: FHIR JSON (`application/fhir+json`), a
 * resource's `ETag: W/"<versionId>"`, and the searchset Bundle shaped as PDS's. (The gateway
 * echoes `X-Request-ID` and `X-Correlation-ID` on every answer, cis2.md 6.7.)
 */
import type { ServiceRequest, ServiceResponse } from '@careid/ports'

const FHIR_JSON = { 'content-type': 'application/fhir+json' } as const

/** The weak ETag of a resource's version, as PDS sends it and expects back in `If-Match`. */
export function etagOf(versionId: number | string): string {
  return `W/"${versionId}"`
}

/** A 200 with `resource` and its ETag. */
export function resourceResponse(resource: unknown, version: number): ServiceResponse {
  return { status: 200, headers: { ...FHIR_JSON, etag: etagOf(version) }, json: resource }
}

/** PDS's timestamp form, `2019-12-25T12:00:00+00:00`, of epoch milliseconds. */
export function fhirTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00')
}

export interface BundleEntry {
  fullUrl: string
  resource: unknown
  /** A search result's score (1 = exact); absent on entries that are not search matches. */
  score?: number | undefined
}

/**
 * A searchset Bundle as PDS answers it: `resourceType`, `type`, `timestamp`, `total`, and `entry`
 * only when something matched (PDS's empty searchset has no `entry`).
 */
export function searchsetResponse(nowMs: number, entries: readonly BundleEntry[]): ServiceResponse {
  const bundle: Record<string, unknown> = { resourceType: 'Bundle', type: 'searchset', timestamp: fhirTimestamp(nowMs), total: entries.length }
  if (entries.length > 0) {
    bundle['entry'] = entries.map((entry) =>
      entry.score === undefined
        ? { fullUrl: entry.fullUrl, resource: entry.resource }
        : { fullUrl: entry.fullUrl, search: { score: entry.score }, resource: entry.resource },
    )
  }
  return { status: 200, headers: FHIR_JSON, json: bundle }
}

/** Where the Patient API is served on the platform's origin (as on NHS England's platform). */
export const PDS_BASE_PATH = '/personal-demographics/FHIR/R4'

/**
 * The absolute base of the API's resource URLs (a Bundle entry's `fullUrl`): the platform's
 * configured origin, else the origin the request was sent to (its Host, over https).
 */
export function apiBaseUrl(request: ServiceRequest, origin: string | undefined): string {
  if (origin !== undefined) return `${origin.replace(/\/$/, '')}${PDS_BASE_PATH}`
  const host = request.header('host')
  return host === undefined ? PDS_BASE_PATH : `https://${host}${PDS_BASE_PATH}`
}
