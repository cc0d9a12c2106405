/**
 * Which of an application's user-restricted scopes a sign-in may have (cis2.md 6.1): the platform
 * "keeps only the product scopes containing `:aal<N>:`, where N is the ID token's
 * `authentication_assurance_level`". The older `urn:nhsd:apim:user-nhs-id:aal3:` form counts the
 * same way. Application-restricted (`level3`) scopes are never a user's.
 */
import type { ApplicationRecord } from '@careid/ports'

/** The scopes of `application` that a sign-in at assurance level `aal` (1 to 3) may be granted, in subscription order. */
export function userScopesAtLevel(application: ApplicationRecord, aal: number): string[] {
  const marker = `:aal${aal}:`
  return application.subscriptions
    .flatMap((subscription) => subscription.scopes)
    .filter((scope) => (scope.startsWith('urn:nhsd:apim:user-nhs-cis2:') || scope.startsWith('urn:nhsd:apim:user-nhs-id:')) && scope.includes(marker))
}
