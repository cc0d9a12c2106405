import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { apiProducts, knownScopes, productOfScope } from '../src/index.ts'

describe('the API product catalogue', () => {
  it('offers PDS to AAL3 and AAL2 healthcare workers and to application-restricted access', () => {
    assert.deepStrictEqual(productOfScope('urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service')?.id, 'personal-demographics-service')
    assert.deepStrictEqual(productOfScope('urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service')?.id, 'personal-demographics-service')
    assert.deepStrictEqual(productOfScope('urn:nhsd:apim:app:level3:personal-demographics-service')?.id, 'personal-demographics-service')
    assert.equal(productOfScope('urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service')?.aal3Only, false)
  })

  it('has a sample API only an AAL3 sign-in may use, with no AAL2 scope', () => {
    const sample = productOfScope('urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api')
    assert.equal(sample?.aal3Only, true)
    assert.deepStrictEqual(sample?.scopes, ['urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api'])
  })

  it('knows no other scope, and every scope names its product', () => {
    assert.equal(productOfScope('urn:nhsd:apim:user-nhs-cis2:aal1:personal-demographics-service'), undefined)
    assert.equal(new Set(knownScopes()).size, knownScopes().length)
    for (const product of apiProducts) for (const scope of product.scopes) assert.ok(scope.endsWith(`:${product.id}`), scope)
  })
})
