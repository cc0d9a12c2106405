/**
 * Security headers on every response. Pages run under a strict CSP: scripts, styles and images
 * from our own origin only, no inline code, no framing. `form-action` must also name the origin a
 * form's redirect chain ends at (the client's redirect URI), as browsers apply it to redirects.
 * `connect-src` names the Identity Agent's local API on the smartcard page only. An installable
 * web app (the mobile app) needs its manifest and service worker from our own origin.
 */
import type { FastifyInstance } from 'fastify'

export function contentSecurityPolicy(formTargets: readonly string[], connectTargets: readonly string[] = []): string {
  const actions = ["'self'", ...formTargets].join(' ')
  const connect = ["'self'", ...connectTargets].join(' ')
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src ${connect}; manifest-src 'self'; worker-src 'self'; form-action ${actions}; frame-ancestors 'none'; base-uri 'none'`
}

const baseline = contentSecurityPolicy([])

/** The headers every response carries (a page may replace the CSP with a wider form-action). */
export function securityHeaders(https: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-security-policy': baseline,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Authorization codes travel in URLs; no Referer may carry them onwards.
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  }
  if (https) headers['strict-transport-security'] = 'max-age=31536000; includeSubDomains'
  return headers
}

export function registerSecurityHeaders(app: FastifyInstance, options: { https: boolean }): void {
  const headers = Object.entries(securityHeaders(options.https))
  app.addHook('onSend', (_request, reply, payload, done) => {
    for (const [name, value] of headers) if (name !== 'content-security-policy' || !reply.hasHeader(name)) reply.header(name, value)
    done(null, payload)
  })
}
