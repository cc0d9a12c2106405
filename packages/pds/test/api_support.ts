/**
 * What the Patient API's tests share: a real embedded store seeded with the generated population,
 * the API over it, requests built as the gateway hands them on, the two kinds of caller, and the
 * exact OperationOutcome PDS answers with.
 */
import assert from 'node:assert/strict'
import type { ApiCaller, ApiRoute, GatewayApi, PatientRecord, ServiceRequest, ServiceResponse, Store } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import { generatePopulation, patientApi } from '../src/index.ts'

export const NOW = Date.UTC(2026, 11, 6, 12, 0, 0)
export const ORIGIN = 'https://api.careid.test'
export const BASE = `${ORIGIN}/personal-demographics/FHIR/R4`
export const REQUEST_ID = '60e0b220-8136-4519-9c3c-1a7ad5c9f0b5'

export interface ApiFixture {
  store: Store
  api: GatewayApi
  records: PatientRecord[]
}

/** A fresh in-memory store holding a population of `size` (1,000 has every kind of record). */
export async function openApi(size = 1000): Promise<ApiFixture> {
  const store = await openSqliteStore({ path: ':memory:' })
  const { records } = generatePopulation({ size })
  await store.patients.putMany(records)
  return { store, api: patientApi({ patients: store.patients, now: () => NOW, origin: ORIGIN }), records }
}

export const worker: ApiCaller = {
  mode: 'healthcare_worker',
  apiKey: 'app-key-1',
  scopes: ['urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'],
  sub: '656005750104',
  sid: 'sid-1',
  aal: 3,
  roleId: '656014452101',
}
export const application: ApiCaller = { mode: 'application', apiKey: 'app-key-2', scopes: ['urn:nhsd:apim:app:level3:personal-demographics-service'] }

export interface RequestParts {
  params?: Record<string, string>
  query?: Record<string, string | string[]>
  body?: unknown
  contentType?: string
  /** Headers to send; one set to undefined is not sent. */
  headers?: Record<string, string | undefined>
}

/** A request as the gateway hands it to a route; `X-Request-ID` is set unless `headers` says otherwise. */
export function request(method: string, url: string, parts: RequestParts = {}): ServiceRequest {
  const headers: Record<string, string | undefined> = { 'x-request-id': REQUEST_ID, ...parts.headers }
  return {
    method,
    params: parts.params ?? {},
    query: parts.query ?? {},
    body: parts.body,
    contentType: parts.contentType,
    header: (name) => headers[name.toLowerCase()],
    ip: '127.0.0.1',
    url,
  }
}

export function route(api: GatewayApi, method: string, path: string): ApiRoute {
  const found = api.routes.find((r) => r.method === method && r.path === path)
  assert.ok(found, `${method} ${path} is a route`)
  return found
}

export function read(fixture: ApiFixture, id: string, caller: ApiCaller = worker): Promise<ServiceResponse> {
  return route(fixture.api, 'GET', '/Patient/:id').handle(request('GET', `/Patient/${id}`, { params: { id } }), caller)
}

export function search(fixture: ApiFixture, query: Record<string, string | string[]>, caller: ApiCaller = worker): Promise<ServiceResponse> {
  return route(fixture.api, 'GET', '/Patient').handle(request('GET', '/Patient', { query }), caller)
}

export interface ExpectedIssue {
  severity: string
  code: string
  spineCode: string
  display: string
  diagnostics?: string
}

/** Asserts `response` is exactly PDS's OperationOutcome of one issue, as FHIR JSON. */
export function assertOutcome(response: ServiceResponse, status: number, issue: ExpectedIssue): void {
  assert.equal(response.status, status)
  assert.equal(response.headers?.['content-type'], 'application/fhir+json')
  const expected: Record<string, unknown> = {
    severity: issue.severity,
    code: issue.code,
    details: {
      coding: [{ system: 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode', version: '1', code: issue.spineCode, display: issue.display }],
    },
  }
  if (issue.diagnostics !== undefined) expected['diagnostics'] = issue.diagnostics
  assert.deepStrictEqual(response.json, { resourceType: 'OperationOutcome', issue: [expected] })
}

/** The first record of the population that `test` picks. */
export function pick(fixture: ApiFixture, test: (record: PatientRecord) => boolean): PatientRecord {
  const found = fixture.records.find(test)
  assert.ok(found, 'the population holds such a patient')
  return found
}

export type Json = Record<string, unknown>
