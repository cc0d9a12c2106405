/**
 * The one place protocol errors become HTTP responses:
 * - JSON `{ error, error_description }` for the back-channel endpoints (RFC 6749 5.2), with
 *   `Cache-Control: no-store`;
 * - `WWW-Authenticate` challenges: Basic when the client tried Basic (RFC 6749 5.2 "MUST"), Bearer
 *   at userinfo (RFC 6750 3; no error code when no token was sent);
 * - an HTML page for errors that must not be redirected;
 * - for an unknown path, a not-found page when a browser asked for HTML, JSON for anything else.
 * Unknown errors become `server_error` with a fixed text; the detail goes to the log only. A store
 * that did not answer becomes `temporarily_unavailable`: 503 with `Retry-After`, so clients and
 * load balancers retry (RFC 9110 15.6.4) instead of treating the node as broken. A request over a
 * rate limit gets 429 with Retry-After, as JSON or a page like any other error. Each refusal is
 * noted for the metrics.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { asOAuthError, InvalidClient, MissingBearer, NotFound, OAuthError } from '@careid/oidc'
import type { ErrorPage } from '@careid/ui'
import { noteRefusal } from './metrics.ts'
import type { PageRenderer } from './pages.ts'
import { TooManyRequests } from './rate_limit.ts'

export function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error
  const e = error as { statusCode?: number; code?: string }
  // Fastify's own 4xx (bad content type, body too large, malformed body): the client's fault.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const text =
      e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request body is too large'
        : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type'
          : 'malformed request'
    return new OAuthError('invalid_request', text, e.statusCode === 413 ? 413 : 400)
  }
  return asOAuthError(error)
}

/** Seconds a client should wait before retrying a 503: short, as a node serves again as soon as its store answers. */
const retryAfterSeconds = '1'

/** When a refused request may be tried again: a store outage soon, a rate limit when its window ends. */
function retryAfter(reply: FastifyReply, error: OAuthError): void {
  if (error instanceof TooManyRequests) reply.header('retry-after', String(error.retryAfterSeconds))
  else if (error.status === 503) reply.header('retry-after', retryAfterSeconds)
}

function quoted(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')
}

/**
 * The JSON error body (RFC 6749 5.2): `error`, `error_description`, then any members the error's
 * protocol adds (the Identity Agent's `attempts_left`). Every JSON error Careid sends is this.
 */
export function errorBody(error: OAuthError): string {
  const body: Record<string, string | number> = { error: error.error, error_description: error.error_description }
  for (const [name, value] of Object.entries(error.fields)) if (!(name in body)) body[name] = value
  return JSON.stringify(body)
}

export function sendJsonError(request: FastifyRequest, reply: FastifyReply, error: OAuthError, bearerRealm?: string): FastifyReply {
  noteRefusal(request, error)
  if (error.status >= 500) request.log.error({ err_detail: error.detail }, 'server error')
  else if (error.detail !== undefined) request.log.info({ error: error.error, err_detail: error.detail }, 'request refused')
  reply.code(error.status).header('cache-control', 'no-store').header('pragma', 'no-cache')
  retryAfter(reply, error)
  if (bearerRealm !== undefined) {
    const challenge =
      error instanceof MissingBearer
        ? `Bearer realm="${quoted(bearerRealm)}"`
        : `Bearer realm="${quoted(bearerRealm)}", error="${error.error}", error_description="${quoted(error.error_description)}"`
    reply.header('www-authenticate', challenge)
    if (error instanceof MissingBearer) return reply.send()
  } else if (error instanceof InvalidClient && /^basic /i.test(request.headers.authorization ?? '')) {
    reply.header('www-authenticate', 'Basic realm="careid"')
  }
  return reply.type('application/json').send(errorBody(error))
}

const titles: Record<string, string> = {
  invalid_client: 'The application you came from is not registered with Careid',
  invalid_request: 'There is a problem with the sign-in request',
  server_error: 'Sorry, there is a problem with the service',
  temporarily_unavailable: 'Sorry, the service is unavailable',
}

/**
 * A parameter name at the start of a description: a snake_case name (`redirect_uri`, `client_id`,
 * `id_token_hint`, `post_logout_redirect_uri`) or one of the one-word parameters descriptions name.
 */
const leadingParameter = /^(?:[a-z][a-z0-9]*_[a-z0-9_]*|scope|state|nonce|prompt)\b/

/**
 * An error description as a sentence on a page: capital first letter, full stop. A description
 * that starts with a protocol parameter keeps the name as the specifications spell it
 * ("redirect_uri is not registered", never "Redirect_uri", which names no parameter).
 */
function sentence(description: string): string {
  const start = leadingParameter.test(description) ? description : description.charAt(0).toUpperCase() + description.slice(1)
  return /[.!?]$/.test(start) ? start : `${start}.`
}

export function sendErrorPage(request: FastifyRequest, reply: FastifyReply, render: PageRenderer, error: OAuthError): FastifyReply {
  noteRefusal(request, error)
  if (error.status >= 500) request.log.error({ err_detail: error.detail }, 'server error')
  const description = sentence(error.error_description)
  const page: Omit<ErrorPage, 'common'> = {
    page: 'error',
    status: error.status,
    title: error instanceof TooManyRequests ? 'There have been too many attempts to sign in' : (titles[error.error] ?? 'There is a problem with the sign-in request'),
    description,
    error_code: error.error,
  }
  retryAfter(reply, error)
  return render(reply.code(error.status), page)
}

/** The body of the JSON 404, for API clients (and the metrics listener's, metrics_endpoint.ts). */
export const notFoundJson = errorBody(new NotFound('no such endpoint'))

/**
 * An unknown path. A browser navigating says it accepts `text/html` and gets a page in the site's
 * layout (a person followed a broken link or mistyped an address); anything else (an API client, a
 * library probing endpoints) gets the JSON 404 it can read.
 */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply, render: PageRenderer): FastifyReply {
  if (!/\btext\/html\b/i.test(request.headers.accept ?? '')) return reply.code(404).type('application/json').send(notFoundJson)
  const page: Omit<ErrorPage, 'common'> = {
    page: 'error',
    status: 404,
    title: 'Page not found',
    description:
      'If you typed the web address, check it is correct. If you pasted the web address, check you copied the entire address. To sign in, go back to the application you came from and start again.',
  }
  return render(reply.code(404), page)
}
