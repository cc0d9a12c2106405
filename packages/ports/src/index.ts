/**
 * Ports: the interfaces the protocol core drives and the adapters and plugins implement (storage,
 * events between nodes, authenticators, secrets at rest, the national directory). This package
 * depends on nothing, so every other package may import it and loading it loads no driver.
 */
export type * from './store.ts'
export { CARD_PASSCODE_ATTEMPTS } from './store.ts'
export { StoreUnavailable } from './store_unavailable.ts'
export { rateWindowEnd } from './rate_window.ts'
export type { CareidEvent, EventBus, EventHandler } from './events.ts'
export type * from './authenticator.ts'
export { storedStepView } from './authenticator.ts'
export type { AeadSecretBox, SecretBox } from './secret_box.ts'
export type { Activity, Directory, JobRole, Organisation } from './directory.ts'
export { agentErrorCodes, errorCodes, oauthErrorCodes, platformErrorCodes, OAuthError, type AgentErrorCode, type ErrorCode, type ErrorFields, type OAuthErrorCode, type PlatformErrorCode } from './errors.ts'
export { bindAuthenticator, bindEnroller, PluginRefusal, type AuthenticatorPlugin, type PluginAssets, type PluginRequest, type PluginRoute } from './plugin.ts'
export type { CredentialKind, EnrolledCredential, Enrolment, EnrolmentContext, EnrolmentGrant, EnrolmentResult, Enroller } from './enrolment.ts'
export type { ServiceRequest, ServiceResponse, ServiceRoute } from './service.ts'
export { operationOutcome, outcomeResponse, SPINE_ERROR_OR_WARNING_CODE, type OutcomeIssue } from './operation_outcome.ts'
export type { ApiCaller, ApiRoute, GatewayApi, GatewayRefusal, RoleFailure } from './gateway.ts'
