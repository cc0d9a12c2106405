/**
 * The seam between the API Platform's gateway (in `@careid/apim`) and the APIs behind it (the
 * Patient API in `@careid/pds`, the sample AAL3 API): the gateway checks the platform token, the
 * product's scope, the assurance level, the rate limit and the request id, resolves the worker's
 * role (cis2.md 6.4), and hands the API the caller it established; the API answers. A refusal of
 * the gateway is answered by the API's own mapping (PDS answers a role failure with its own 400,
 * cis2.md 6.7), or by the gateway's default (the shared flow's 401 texts) for an API that maps none.
 */
import type { ServiceRequest, ServiceResponse } from './service.ts'

/** Who calls, as the gateway established it. */
export type ApiCaller =
  | {
      mode: 'healthcare_worker'
      /** The application's API key. */
      apiKey: string
      scopes: readonly string[]
      sub: string
      sid: string
      aal: number
      /** The resolved role (`person_roleid`), passed on as the backend's `NHSD-Session-URID`. */
      roleId: string
    }
  | { mode: 'application'; apiKey: string; scopes: readonly string[] }

/** Why the worker's role could not be resolved (cis2.md 6.4, in the shared flow's order). */
export type RoleFailure =
  /** Several roles, no header and no `selected_roleid`: "multiple roles found in user info, please check NHSD-Session-URID". */
  | 'multiple_roles'
  /** No roles at all: "no userroles available, please check NHSD-Session-URID is valid". */
  | 'no_roles'
  /** `selected_roleid` is not a string of the worker's roles: "selected_roleid is misconfigured/invalid". */
  | 'selected_roleid_invalid'
  /** The roles read at sign-in are unusable: "nhsid_nrbac_roles is misconfigured/invalid". */
  | 'roles_invalid'
  /** The header names none of the worker's roles: "NHSD-Session-URID is invalid". */
  | 'urid_invalid'
  /** A separate-pattern token (no CIS2 access token held), no header, no `selected_roleid`: "selected_roleid is missing in your token". */
  | 'selected_roleid_missing'

/** A refusal of the gateway, before the API sees the request. */
export type GatewayRefusal =
  | { kind: 'missing_request_id' }
  | { kind: 'invalid_request_id'; value: string }
  /**
   * No bearer token, a malformed, unknown, expired or revoked one, or another scheme. `diagnostics`
   * is the platform's own text for which of these it was ("Missing Authorization header", "Access
   * Token expired", ...), never the token; an API answers it as the platform's 401 does.
   */
  | { kind: 'access_denied'; diagnostics: string }
  /** A valid token without any of this product's scopes. */
  | { kind: 'insufficient_scope' }
  /** An AAL2 sign-in at a product only an AAL3 sign-in may use (RFC 9470); the gateway sets `WWW-Authenticate`. */
  | { kind: 'insufficient_user_authentication'; acrValues: string }
  | { kind: 'role'; failure: RoleFailure; headerValue: string | undefined }
  | { kind: 'rate_limited'; retryAfterSeconds: number }

/** One route of an API, with the caller the gateway established. */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PATCH'
  /** The path under the API's base path, with `:name` parameters, e.g. `/Patient/:id`. */
  path: string
  handle(request: ServiceRequest, caller: ApiCaller): Promise<ServiceResponse>
}

/** An API the gateway serves. */
export interface GatewayApi {
  /** The product (catalogue id) whose scopes reach it, e.g. `personal-demographics-service`. */
  product: string
  /** Where it is served on the platform's origin, e.g. `/personal-demographics/FHIR/R4`. */
  basePath: string
  routes: readonly ApiRoute[]
  /** How it answers a refusal of the gateway; undefined leaves it to the gateway's default. */
  refuse?: ((refusal: GatewayRefusal, request: ServiceRequest) => ServiceResponse) | undefined
}
