import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { GatewayRefusal, RoleFailure } from '@careid/ports'
import { patientApi } from '../src/index.ts'
import { assertOutcome, request } from './api_support.ts'

const api = patientApi({
  patients: {
    get: () => Promise.reject(new Error('a refusal reads no patient')),
    putMany: () => Promise.reject(new Error('unused')),
    search: () => Promise.reject(new Error('unused')),
    update: () => Promise.reject(new Error('unused')),
    count: () => Promise.reject(new Error('unused')),
  },
  now: () => 0,
})
const refuse = (refusal: GatewayRefusal) => api.refuse!(refusal, request('GET', '/Patient/9000000009'))
const roleText = (value: string) =>
  `Invalid value - '${value}' in header 'NHSD-Session-URID'. Refer to the guidance for this header in our API Specification https://digital.nhs.uk/developer/api-catalogue/personal-demographics-service-fhir`
const denied = (diagnostics: string) => ({ severity: 'error', code: 'forbidden', spineCode: 'ACCESS_DENIED', display: 'Access Denied - Unauthorised', diagnostics })

describe('PDS\'s answers to the gateway\'s refusals', () => {
  it('is the API of product personal-demographics-service at /personal-demographics/FHIR/R4', () => {
    assert.equal(api.product, 'personal-demographics-service')
    assert.equal(api.basePath, '/personal-demographics/FHIR/R4')
    assert.deepStrictEqual(
      api.routes.map((r) => `${r.method} ${r.path}`),
      ['GET /Patient', 'GET /Patient/:id', 'PATCH /Patient/:id', 'GET /Patient/:id/RelatedPerson'],
    )
  })

  const failures: RoleFailure[] = ['multiple_roles', 'no_roles', 'selected_roleid_invalid', 'roles_invalid', 'urid_invalid', 'selected_roleid_missing']
  for (const failure of failures) {
    it(`a role failure (${failure}) with the header sent is 400 INVALID_VALUE naming its value`, () => {
      assertOutcome(refuse({ kind: 'role', failure, headerValue: 'invalid' }), 400, {
        severity: 'error',
        code: 'value',
        spineCode: 'INVALID_VALUE',
        display: 'Provided value is invalid',
        diagnostics: roleText('invalid'),
      })
    })
  }

  it('a role failure without the header names an empty value', () => {
    assertOutcome(refuse({ kind: 'role', failure: 'multiple_roles', headerValue: undefined }), 400, {
      severity: 'error',
      code: 'value',
      spineCode: 'INVALID_VALUE',
      display: 'Provided value is invalid',
      diagnostics: roleText(''),
    })
  })

  it('a missing X-Request-ID is 400 MISSING_VALUE', () => {
    const response = refuse({ kind: 'missing_request_id' })
    assert.equal(response.status, 400)
    assert.equal(response.headers?.['content-type'], 'application/fhir+json')
    assert.deepStrictEqual(response.json, {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'required',
          details: { coding: [{ system: 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode', version: '1', code: 'MISSING_VALUE', display: 'Required value is missing' }] },
          diagnostics: 'Invalid request with error - X-Request-ID header must be supplied to access this resource',
        },
      ],
    })
  })

  it('an X-Request-ID that is not a UUID is 400 INVALID_VALUE naming it', () => {
    assertOutcome(refuse({ kind: 'invalid_request_id', value: '1234' }), 400, {
      severity: 'error',
      code: 'value',
      spineCode: 'INVALID_VALUE',
      display: 'Provided value is invalid',
      diagnostics: "Invalid value - '1234' in header 'X-Request-ID'",
    })
  })

  it('a refused token is 401 ACCESS_DENIED with the platform\'s fault string', () => {
    for (const diagnostics of ['Missing Authorization header', 'Missing access token', "Invalid token type 'Basic', must be 'Bearer'", 'Access Token expired', 'Invalid Access Token']) {
      assertOutcome(refuse({ kind: 'access_denied', diagnostics }), 401, denied(diagnostics))
    }
  })

  it('a token without PDS\'s scopes is 401 ACCESS_DENIED with Apigee\'s product-mismatch text', () => {
    assertOutcome(refuse({ kind: 'insufficient_scope' }), 401, denied('Invalid API call as no apiproduct match found'))
  })

  it('an AAL2 sign-in at an AAL3-only product is 401 ACCESS_DENIED', () => {
    assertOutcome(refuse({ kind: 'insufficient_user_authentication', acrValues: 'AAL3_ANY' }), 401, denied('A sign-in at AAL3 is required to use this API'))
  })

  it('the rate limit is 429 TOO_MANY_REQUESTS with the proxy\'s text', () => {
    assertOutcome(refuse({ kind: 'rate_limited', retryAfterSeconds: 1 }), 429, {
      severity: 'error',
      code: 'value',
      spineCode: 'TOO_MANY_REQUESTS',
      display: 'Too many requests',
      diagnostics:
        'This API is currently receiving a high volume of requests and is being rate limited. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details.',
    })
  })
})
