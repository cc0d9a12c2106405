/**
 * Prometheus metrics: HTTP traffic by route, back-channel logout delivery, process defaults, and
 * what an operator watches for an attack or an outage: sign-ins by method and result, token
 * requests by grant type and result, and refusals by endpoint and error code.
 *
 * Routes and the error renderer note what a request came to (`noteSignIn`, `noteRefusal`) from the
 * protocol core's typed outcomes; it is counted once the response is sent, so the core knows
 * nothing of metrics. Every label value comes from a fixed list (anything else is `other`): never a
 * username, a client id or a token, and a bounded number of series whatever is sent (grant types:
 * those registered on the token endpoint).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { agentErrorCodes, oauthErrorCodes, type SignInAttempt } from '@careid/oidc'
import { TooManyRequests } from './rate_limit.ts'

export interface Metrics {
  registry: Registry
  logout: { delivered(): void; failed(): void; gaveUp(): void }
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'careid_' })
  const logout = new Counter({
    name: 'careid_backchannel_logout_total',
    help: 'Back-channel logout delivery attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  return {
    registry,
    logout: {
      delivered: () => logout.inc({ outcome: 'delivered' }),
      failed: () => logout.inc({ outcome: 'failed' }),
      gaveUp: () => logout.inc({ outcome: 'gave_up' }),
    },
  }
}

/** The authenticators' ids. */
const methods = new Set(['password', 'totp', 'smartcard', 'security_key', 'windows_hello', 'passkey'])
/** `success` and the authenticators' failure reasons (AuthenticationError). */
const signInResults = new Set([
  'success',
  'invalid_credentials',
  'invalid_code',
  'code_already_used',
  'locked',
  'missing_input',
  'not_enrolled',
  'invalid_ticket',
  'challenge_expired',
  'card_not_valid',
  'card_session_ended',
  'method_not_accepted',
  'webauthn_cancelled',
  'unknown_credential',
  'counter_regression',
  'wrong_origin',
  'challenge_replayed',
  'user_not_verified',
  'attestation_not_trusted',
])
/**
 * The wire error codes Careid sends: OAuth 2.0 and OpenID Connect's, then the Identity Agent
 * protocol's (`not_found` is never noted as a refusal).
 */
const errorCodes = new Set<string>([...oauthErrorCodes, ...agentErrorCodes])

function known(values: ReadonlySet<string>, value: unknown): string {
  return typeof value === 'string' && values.has(value) ? value : 'other'
}

/** What a request came to, as its route or the error renderer noted it. */
interface Noted {
  /** The wire error code it was refused with, and whether a rate limit refused it. */
  refusal?: { error: string; throttled: boolean }
  signIn?: SignInAttempt
}

const noted = new WeakMap<FastifyRequest, Noted>()

/** The request was refused with this error (an error rendered, or sent to the client's redirect URI). */
export function noteRefusal(request: FastifyRequest, error: { error: string }): void {
  noted.set(request, { ...noted.get(request), refusal: { error: error.error, throttled: error instanceof TooManyRequests } })
}

/** The request posted an authenticator step that ended in a sign-in or a failure. */
export function noteSignIn(request: FastifyRequest, attempt: SignInAttempt): void {
  noted.set(request, { ...noted.get(request), signIn: attempt })
}

/** Endpoints by their path under the issuer, as named in the counters. */
const endpointPaths: [string, string][] = [
  ['/authorize', 'authorize'],
  ['/access_token', 'token'],
  ['/userinfo', 'userinfo'],
  ['/introspect', 'introspection'],
  ['/token/revoke', 'revocation'],
  ['/connect/endSession', 'end_session'],
  ['/interaction/', 'sign_in'],
  ['/agent/', 'agent'],
]

/** `grantTypes`: the token endpoint's registered grant types, the only `grant_type` label values besides `other`. */
export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics, base: string, grantTypes: () => readonly string[]): void {
  const requests = new Histogram({
    name: 'careid_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics.registry],
  })
  const signIns = new Counter({
    name: 'careid_sign_ins_total',
    help: 'Posted sign-in steps that ended in a sign-in or a failure, by method and result; throttled: refused by the rate limit before the method was known (method "other")',
    labelNames: ['method', 'result'] as const,
    registers: [metrics.registry],
  })
  const tokenRequests = new Counter({
    name: 'careid_token_requests_total',
    help: 'Token endpoint requests by grant type and result: issued, throttled, or the error code',
    labelNames: ['grant_type', 'result'] as const,
    registers: [metrics.registry],
  })
  const refusals = new Counter({
    name: 'careid_oauth_errors_total',
    help: 'Requests refused with an error code, rendered or sent to the redirect URI, by endpoint and error',
    labelNames: ['endpoint', 'error'] as const,
    registers: [metrics.registry],
  })
  const tokenRoute = `${base}/access_token`
  const signInRoute = `${base}/interaction/:id/authenticate`
  const endpointOf = (route: string) => {
    const path = route.startsWith(base) ? route.slice(base.length) : route
    return endpointPaths.find(([prefix]) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix))?.[1] ?? 'other'
  }

  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL: ids and codes never become label values.
    const route = request.routeOptions.url ?? 'unmatched'
    requests.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000)
    const outcome = noted.get(request)
    const refusal = outcome?.refusal
    if (refusal !== undefined) refusals.inc({ endpoint: endpointOf(route), error: known(errorCodes, refusal.error) })
    if (outcome?.signIn !== undefined) signIns.inc({ method: known(methods, outcome.signIn.method), result: known(signInResults, outcome.signIn.result) })
    else if (refusal?.throttled === true && route === signInRoute) signIns.inc({ method: 'other', result: 'throttled' })
    if (route === tokenRoute) {
      const body = request.body as Record<string, unknown> | undefined
      const result = refusal === undefined ? (reply.statusCode === 200 ? 'issued' : 'other') : refusal.throttled ? 'throttled' : known(errorCodes, refusal.error)
      const grantType = body?.grant_type
      tokenRequests.inc({ grant_type: typeof grantType === 'string' && grantTypes().includes(grantType) ? grantType : 'other', result })
    }
    done()
  })
}
