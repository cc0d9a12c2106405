/**
 * The API Platform's side of Careid: the applications registered with it, as in the NHS developer
 * portal, the catalogue of API products and their scopes they subscribe to, and the OAuth
 * service's token endpoint.
 */
export { apiKeyPattern, generateApiKey, InvalidApplication, registerApplication, type ApplicationRegistration, type RegisteredApplication } from './application.ts'
export { apiProducts, applicationRestrictedPrefix, knownScopes, productOfScope, type ApiProduct } from './catalogue.ts'
export { createPlatformTokenRoute, type PlatformTokenRouteDeps } from './token/token_route.ts'
export type { Cis2Trust } from './token/subject_token.ts'
