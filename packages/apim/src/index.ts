/**
 * The API Platform's side of Careid: the applications registered with it, as in the NHS developer
 * portal, and the catalogue of API products and their scopes they subscribe to.
 */
export { apiKeyPattern, generateApiKey, InvalidApplication, registerApplication, type ApplicationRegistration, type RegisteredApplication } from './application.ts'
export { apiProducts, applicationRestrictedPrefix, knownScopes, productOfScope, type ApiProduct } from './catalogue.ts'
export { gatewayRoutes, type GatewayDeps } from './gateway.ts'
export { sampleAal3Api, sampleAal3BasePath } from './sample_aal3_api.ts'
export { type GatewayLog, type GatewayRefusalEntry } from './refusal_log.ts'
