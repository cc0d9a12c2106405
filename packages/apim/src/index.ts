/**
 * The API Platform's side of Careid: the applications registered with it, as in the NHS developer
 * portal, the catalogue of API products and their scopes they subscribe to, and its OAuth 2.0
 * service's routes.
 */
export { apiKeyPattern, generateApiKey, InvalidApplication, registerApplication, type ApplicationRegistration, type RegisteredApplication } from './application.ts'
export { apiProducts, applicationRestrictedPrefix, knownScopes, productOfScope, type ApiProduct } from './catalogue.ts'
export { createCis2Provider, type Cis2Provider, type Cis2Settings } from './cis2_provider.ts'
export { platformBackchannelLogoutUrl, platformCallbackUrl, type PlatformDeps } from './platform_deps.ts'
export { PlatformRefusal } from './platform_error.ts'
export { apiPlatformRoutes, type ApiPlatformOptions } from './platform_routes.ts'
export type { Release } from './ping_route.ts'
export { gatewayRoutes, type GatewayDeps } from './gateway.ts'
export { sampleAal3Api, sampleAal3BasePath } from './sample_aal3_api.ts'
export { type GatewayLog, type GatewayRefusalEntry } from './refusal_log.ts'
