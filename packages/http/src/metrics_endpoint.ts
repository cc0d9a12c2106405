/**
 * Who may read /metrics, and where. The counters show sign-in failures, refusals and the software's
 * versions: an attacker learns from them whether an attack is seen and what to target, so they are
 * served only where the operator says:
 * - on a listener of its own (`--metrics-port`, the Prometheus convention; loopback unless told
 *   otherwise), and then not on the main port at all;
 * - and/or behind a bearer token (RFC 6750 2.1), compared in constant time.
 * Given neither, /metrics is not served.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { InvalidToken, safeEqual, ServerError } from '@careid/oidc'
import type { Metrics } from './metrics.ts'
import { errorBody, notFoundJson } from './render_error.ts'

const realm = 'Bearer realm="careid-metrics"'

export type MetricsRefusal = { status: 401; challenge: string; body: string | undefined }

/**
 * Whether an Authorization header carries the metrics token; the refusal to send if it does not
 * (RFC 6750 3.1: no error code when no token was sent, `invalid_token` for a wrong one).
 */
export function checkMetricsToken(authorization: string | undefined, token: string | undefined): MetricsRefusal | undefined {
  if (token === undefined) return undefined
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '')
  if (match === null) return { status: 401, challenge: realm, body: undefined }
  if (safeEqual(match[1] as string, token)) return undefined
  return {
    status: 401,
    challenge: `${realm}, error="invalid_token"`,
    body: errorBody(new InvalidToken('the metrics token is not valid')),
  }
}

/** The listener of `--metrics-port`: GET /metrics and nothing else. */
export function createMetricsServer(metrics: Metrics, token: string | undefined): Server {
  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body?: string) => {
    res.writeHead(status, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers })
    res.end(body)
  }
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (req.url ?? '').split('?')[0] !== '/metrics') {
      return send(res, 404, { 'content-type': 'application/json' }, notFoundJson)
    }
    const refusal = checkMetricsToken(req.headers.authorization, token)
    if (refusal !== undefined) {
      return send(res, refusal.status, { 'www-authenticate': refusal.challenge, ...(refusal.body === undefined ? {} : { 'content-type': 'application/json' }) }, refusal.body)
    }
    metrics.registry.metrics().then(
      (body) => send(res, 200, { 'content-type': metrics.registry.contentType }, req.method === 'HEAD' ? undefined : body),
      () => send(res, 500, { 'content-type': 'application/json' }, errorBody(new ServerError())),
    )
  })
}
