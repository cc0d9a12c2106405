/**
 * The API Platform's gateway: each API behind it (`GatewayApi`) served on the platform's origin at
 * its base path, every request checked before the API sees it, in the order of the platform's API
 * proxies (the PDS proxy's `targets/ig3.xml`):
 * 1. the platform token (`Authorization: Bearer`);
 * 2. for a product only an AAL3 sign-in may use, the sign-in's level (Careid's addition, RFC 9470),
 *    and that the token may call this product (one of the product's scopes: Apigee's product match
 *    is part of verifying the token);
 * 3. the application's rate limit, counting only calls whose token was accepted;
 * 4. an `X-Request-ID` that is sent but is not a UUID;
 * 5. the healthcare worker's role (cis2.md 6.4; an application-restricted token has none);
 * 6. a missing `X-Request-ID` (refused behind the proxy, by the backend).
 * Then the API's route answers, with the caller the gateway established. Every response echoes
 * `X-Request-ID` and `X-Correlation-ID`. A refusal is answered by the API's own mapping, or by the
 * platform's shared flows' default; the headers a refusal's protocol needs (`WWW-Authenticate`,
 * `Retry-After`) are the gateway's, whatever body answers it.
 */
import type { ApplicationStore, ApiCaller, ApiRoute, GatewayApi, GatewayRefusal, ServiceRequest, ServiceResponse, ServiceRoute, Store } from '@careid/ports'
import { checkAccessToken } from './access_token.ts'
import { countAppCall, DEFAULT_REQUESTS_PER_SECOND } from './app_rate_limit.ts'
import { apiProducts, type ApiProduct } from '../catalogue.ts'
import { refusalEntry, type GatewayLog } from './refusal_log.ts'
import { echoedIds, invalidRequestId } from './request_id.ts'
import { resolveRole } from './role_resolution.ts'
import { sharedFlowRefusal } from './shared_flow_refusals.ts'
import { aal3AcrValues, needsStepUp, stepUpChallenge } from './step_up.ts'

export interface GatewayDeps {
  store: Pick<Store, 'apiGrants' | 'apps' | 'rates'>
  now: () => number
  /** Each application's calls to each API per second; 5 unless configured (cis2.md 6.6). */
  rateLimit?: { perSecond: number } | undefined
  /** Where refusals are reported (without tokens or personal data). */
  log?: GatewayLog | undefined
}

/** The routes of every API, each at its base path plus its own path, behind the gateway's checks. */
export function gatewayRoutes(apis: readonly GatewayApi[], deps: GatewayDeps): ServiceRoute[] {
  const perSecond = deps.rateLimit?.perSecond ?? DEFAULT_REQUESTS_PER_SECOND
  if (!Number.isInteger(perSecond) || perSecond < 1) throw new RangeError('the gateway rate limit must be a whole number of requests per second, at least 1')
  return apis.flatMap((api) => {
    const product = apiProducts.find((candidate) => candidate.id === api.product)
    if (product === undefined) throw new RangeError(`no API product "${api.product}" in the catalogue`)
    return api.routes.map((route) => ({
      method: route.method,
      path: api.basePath + route.path,
      handle: (request: ServiceRequest) => guarded(api, product, route, request, deps, perSecond),
    }))
  })
}

async function guarded(api: GatewayApi, product: ApiProduct, route: ApiRoute, request: ServiceRequest, deps: GatewayDeps, perSecond: number): Promise<ServiceResponse> {
  const echoed = echoedIds((name) => request.header(name))
  const outcome = await admit(product, request, deps, perSecond)
  if ('kind' in outcome) {
    const answer = api.refuse?.(outcome, request) ?? sharedFlowRefusal(outcome)
    deps.log?.refused(refusalEntry(product.id, outcome, answer.status))
    return { ...answer, headers: { ...answer.headers, ...protocolHeaders(outcome), ...echoed } }
  }
  const response = await route.handle(request, outcome)
  return { ...response, headers: { ...response.headers, ...echoed } }
}

/** The caller, or the first rule the request breaks. */
async function admit(product: ApiProduct, request: ServiceRequest, deps: GatewayDeps, perSecond: number): Promise<ApiCaller | GatewayRefusal> {
  const now = deps.now()
  const token = await checkAccessToken(request.header('authorization'), deps.store.apiGrants, now)
  if (!token.ok) return { kind: 'access_denied', diagnostics: token.diagnostics }
  const { grant } = token.access
  const scopes = grant.scope.split(' ').filter((scope) => scope !== '')
  const inScope = scopes.some((scope) => product.scopes.includes(scope))
  const user = grant.pattern === 'client_credentials' ? undefined : grant.user
  if (grant.pattern !== 'client_credentials' && user === undefined) throw new Error(`platform grant ${grant.grant_id} of pattern ${grant.pattern} has no user`)
  // A sign-in below AAL3 never holds an AAL3-only product's scopes (the platform keeps only the
  // scopes of the sign-in's level), so the application's subscription tells a sign-in that must
  // step up from an application that may not call the product at all.
  if (user !== undefined && needsStepUp(product.aal3Only, user.aal) && (inScope || (await subscribes(deps.store.apps, grant.api_key, product.id)))) {
    return { kind: 'insufficient_user_authentication', acrValues: aal3AcrValues }
  }
  if (!inScope) return { kind: 'insufficient_scope' }

  const rate = await countAppCall(deps.store.rates, product.id, grant.api_key, perSecond, now)
  if (!rate.ok) return { kind: 'rate_limited', retryAfterSeconds: rate.retryAfterSeconds }

  const requestId = request.header('x-request-id')
  if (invalidRequestId(requestId)) return { kind: 'invalid_request_id', value: requestId }

  let caller: ApiCaller
  if (user === undefined) {
    caller = { mode: 'application', apiKey: grant.api_key, scopes }
  } else {
    const urid = request.header('nhsd-session-urid')
    const role = resolveRole(user, urid)
    if (!role.ok) return { kind: 'role', failure: role.failure, headerValue: urid }
    caller = { mode: 'healthcare_worker', apiKey: grant.api_key, scopes, sub: user.sub, sid: user.sid, aal: user.aal, roleId: role.roleId }
  }

  if (requestId === undefined) return { kind: 'missing_request_id' }
  return caller
}

async function subscribes(apps: ApplicationStore, apiKey: string, product: string): Promise<boolean> {
  const application = await apps.get(apiKey)
  return application?.subscriptions.some((subscription) => subscription.product === product) ?? false
}

/** The headers a refusal's own protocol requires, set whatever body answers it. */
function protocolHeaders(refusal: GatewayRefusal): Record<string, string> {
  switch (refusal.kind) {
    case 'insufficient_user_authentication':
      return { 'www-authenticate': stepUpChallenge(refusal.acrValues) }
    case 'rate_limited':
      return { 'retry-after': String(refusal.retryAfterSeconds) }
    default:
      return {}
  }
}
