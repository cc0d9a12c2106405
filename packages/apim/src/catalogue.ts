/**
 * The API products an application can subscribe to, and their scopes (cis2.md 6.1). A scope names
 * how the product is reached:
 * - user-restricted through CIS2: `urn:nhsd:apim:user-nhs-cis2:aal<N>:<api>`, and the older
 *   `urn:nhsd:apim:user-nhs-id:aal3:<api>`; the platform keeps only the scopes whose `:aal<N>:`
 *   matches the ID token's `authentication_assurance_level`;
 * - application-restricted, with a signed JWT: `urn:nhsd:apim:app:level3:<api>`.
 */

export interface ApiProduct {
  /** The product's id, the `<api>` part of its scopes. */
  readonly id: string
  readonly name: string
  readonly scopes: readonly string[]
  /**
   * Careid's addition (not the platform's): a product only an AAL3 sign-in may use. An AAL2 token
   * is then answered with RFC 9470's `insufficient_user_authentication`, so the client can step up.
   */
  readonly aal3Only: boolean
}

/** The prefix of an application-restricted scope: reached with a signed JWT, no user. */
export const applicationRestrictedPrefix = 'urn:nhsd:apim:app:level3:'

export const apiProducts: readonly ApiProduct[] = [
  {
    id: 'personal-demographics-service',
    name: 'Personal Demographics Service (FHIR) API',
    // PDS accepts AAL2 and AAL3 healthcare-worker tokens (cis2.md 6.7), and application-restricted access.
    scopes: [
      'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service',
      'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service',
      'urn:nhsd:apim:user-nhs-id:aal3:personal-demographics-service',
      'urn:nhsd:apim:app:level3:personal-demographics-service',
    ],
    aal3Only: false,
  },
  {
    id: 'sample-aal3-api',
    name: 'Sample AAL3-only API',
    scopes: ['urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api'],
    aal3Only: true,
  },
]

/** The product a scope belongs to, or undefined for a scope no product has. */
export function productOfScope(scope: string): ApiProduct | undefined {
  return apiProducts.find((product) => product.scopes.includes(scope))
}

/** Every scope of every product, in catalogue order. */
export function knownScopes(): string[] {
  return apiProducts.flatMap((product) => product.scopes)
}
