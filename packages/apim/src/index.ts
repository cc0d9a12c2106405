/**
 * The API Platform's side of Careid: the applications registered with it, as in the NHS developer
 * portal, the catalogue of API products and their scopes they subscribe to, the OAuth service's
 * routes (the browser side of the combined pattern, userinfo, back-channel logout, health) and its
 * token endpoint, and the gateway in front of the APIs.
 */
export { apiKeyPattern, generateApiKey, InvalidApplication, registerApplication, type ApplicationRegistration, type RegisteredApplication } from './application.ts'
export { apiProducts, applicationRestrictedPrefix, knownScopes, productOfScope, type ApiProduct } from './catalogue.ts'
export { createCis2Provider, type Cis2Provider, type Cis2Settings } from './oauth/cis2_provider.ts'
export { platformBackchannelLogoutUrl, platformCallbackUrl, type PlatformDeps } from './oauth/platform_deps.ts'
export { PlatformRefusal } from './platform_errors.ts'
export type { PlatformCodePayload } from './platform_code.ts'
export { apiPlatformRoutes, type ApiPlatformOptions } from './oauth/platform_routes.ts'
export type { Release } from './oauth/ping_route.ts'
export { createPlatformTokenRoute, type PlatformTokenRouteDeps } from './token/token_route.ts'
export type { Cis2Trust } from './token/subject_token.ts'
export { gatewayRoutes, type GatewayDeps } from './gateway/gateway.ts'
export { sampleAal3Api, sampleAal3BasePath } from './gateway/sample_aal3_api.ts'
export { type GatewayLog, type GatewayRefusalEntry } from './gateway/refusal_log.ts'
