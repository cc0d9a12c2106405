/**
 * The one place protocol errors become HTTP responses:
 * - JSON `{ error, error_description }` for the back-channel endpoints (RFC 6749 5.2), with
 *   `Cache-Control: no-store`;
 * - `WWW-Authenticate` challenges: Basic when the client tried Basic (RFC 6749 5.2 "MUST"), Bearer
 *   at userinfo (RFC 6750 3; no error code when no token was sent);
 * - an HTML page for errors that must not be redirected.
 * Unknown errors become `server_error` with a fixed text; the detail goes to the log only. A store
 * that did not answer becomes `temporarily_unavailable`: 503 with `Retry-After`, so clients and
 * load balancers retry (RFC 9110 15.6.4) instead of treating the node as broken. A request over a
 * rate limit gets 429 with Retry-After, as JSON or a page like any other error. Each refusal is
 * noted for the metrics.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { asOAuthError, InvalidClient, MissingBearer, OAuthError } from '@careid/oidc'
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
  return reply.type('application/json').send(JSON.stringify({ error: error.error, error_description: error.error_description }))
}

const titles: Record<string, string> = {
  invalid_client: 'The application you came from is not registered with Careid',
  invalid_request: 'There is a problem with the sign-in request',
  server_error: 'Sorry, there is a problem with the service',
  temporarily_unavailable: 'Sorry, the service is unavailable',
}

export function sendErrorPage(request: FastifyRequest, reply: FastifyReply, render: PageRenderer, error: OAuthError): FastifyReply {
  noteRefusal(request, error)
  if (error.status >= 500) request.log.error({ err_detail: error.detail }, 'server error')
  const description = error.error_description.charAt(0).toUpperCase() + error.error_description.slice(1)
  const page: Omit<ErrorPage, 'common'> = {
    page: 'error',
    status: error.status,
    title: error instanceof TooManyRequests ? 'There have been too many attempts to sign in' : (titles[error.error] ?? 'There is a problem with the sign-in request'),
    description: /[.!?]$/.test(description) ? description : `${description}.`,
    error_code: error.error,
  }
  retryAfter(reply, error)
  return render(reply.code(error.status), page)
}
