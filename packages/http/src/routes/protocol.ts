/** The OpenID provider's endpoints on CIS2's paths, mapped onto the protocol core. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidRequest, type Provider, type RawParams } from '@careid/oidc'
import { browserCookie, clearSessionCookie, readCookie, sessionCookie, setBrowserCookie, type CookiePolicy } from '../cookies.ts'
import { noteRefusal } from '../metrics.ts'
import type { PageRenderer } from '../pages.ts'
import type { RateLimiter } from '../rate_limit.ts'
import { sendErrorPage } from '../render_error.ts'

export interface ProtocolRouteOptions {
  provider: Provider
  /** The issuer's path, e.g. /openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare. */
  base: string
  cookies: CookiePolicy
  render: PageRenderer
  limiter: RateLimiter
}

/** How a route's errors are rendered (read by the error handler). */
export type ErrorFormat = 'json' | 'html' | 'bearer'
declare module 'fastify' {
  interface FastifyContextConfig {
    errorFormat?: ErrorFormat
  }
}

const formType = 'application/x-www-form-urlencoded'

/** RFC 6749 3.2: token requests use application/x-www-form-urlencoded; so do 7009 and 7662. */
function formParams(request: FastifyRequest): RawParams {
  if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith(formType)) {
    throw new InvalidRequest(`content type must be ${formType}`)
  }
  return (request.body ?? {}) as RawParams
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

export async function protocolRoutes(app: FastifyInstance, options: ProtocolRouteOptions): Promise<void> {
  const { provider, base, cookies, render, limiter } = options
  const json = { errorFormat: 'json' as const }
  const html = { errorFormat: 'html' as const }

  app.get(`${base}/.well-known/openid-configuration`, { config: json }, (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').type('application/json').send(provider.discoveryJson()),
  )
  app.get(`${base}/connect/jwk_uri`, { config: json }, (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(provider.jwksJson()),
  )

  const authorizeHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = request.method === 'GET' ? (request.query as RawParams) : formParams(request)
    const browserSecret = readCookie(request, browserCookie)
    const outcome = await provider.authorize({ params, sessionSecret: readCookie(request, sessionCookie), browserSecret })
    switch (outcome.type) {
      case 'redirect':
        if (outcome.error !== undefined) noteRefusal(request, outcome.error)
        return noStore(reply).redirect(outcome.location, 302)
      case 'error_page':
        return sendErrorPage(request, reply, render, outcome.error)
      case 'interaction':
        if (outcome.browserSecret !== browserSecret) setBrowserCookie(reply, cookies, outcome.browserSecret)
        return noStore(reply).redirect(`${base}/interaction/${outcome.interactionId}`, 302)
    }
  }
  app.get(`${base}/authorize`, { config: html }, authorizeHandler)
  app.post(`${base}/authorize`, { config: html }, authorizeHandler)

  app.post(`${base}/access_token`, { config: json }, async (request, reply) => {
    const params = formParams(request)
    await limiter.token(request, params)
    // The DPoP proof travels to the grant as it came (RFC 9449 4.1: one header, one JWT); a
    // repeated header is Node's comma-joined string, which no grant would take for a proof. Careid
    // serves plain HTTP (TLS ends in front of it), so it has no client certificate to pass on.
    const dpop = request.headers.dpop
    const response = await provider.token({ params, authorization: request.headers.authorization, dpop: typeof dpop === 'string' ? dpop : undefined })
    return noStore(reply).type('application/json').send(JSON.stringify(response))
  })

  const userinfoHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    let bodyToken: string | string[] | undefined
    if (request.method === 'POST' && request.body !== undefined && request.body !== null) {
      bodyToken = (formParams(request) as Record<string, string | string[] | undefined>).access_token
    }
    if ((request.query as RawParams).access_token !== undefined) throw new InvalidRequest('the access token must not be sent in the query')
    const claims = await provider.userinfo({ authorization: request.headers.authorization, bodyToken })
    return noStore(reply).type('application/json').send(JSON.stringify(claims))
  }
  app.get(`${base}/userinfo`, { config: { errorFormat: 'bearer' } }, userinfoHandler)
  app.post(`${base}/userinfo`, { config: { errorFormat: 'bearer' } }, userinfoHandler)

  app.post(`${base}/introspect`, { config: json }, async (request, reply) => {
    const response = await provider.introspect({ params: formParams(request), authorization: request.headers.authorization })
    return noStore(reply).type('application/json').send(JSON.stringify(response))
  })
  app.post(`${base}/token/revoke`, { config: json }, async (request, reply) => {
    await provider.revoke({ params: formParams(request), authorization: request.headers.authorization })
    return noStore(reply).code(200).send()
  })

  const endSessionHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const params = request.method === 'GET' ? (request.query as RawParams) : formParams(request)
    // The confirmation page's form, posted back; a relying party's own request never has `confirm`.
    const confirmation = request.method === 'POST' && params.confirm !== undefined ? { csrf: typeof params.csrf === 'string' ? params.csrf : undefined } : undefined
    const outcome = await provider.endSession({ params, sessionSecret: readCookie(request, sessionCookie), confirmation })
    if (outcome.type === 'error_page') return sendErrorPage(request, reply, render, outcome.error)
    if (outcome.type === 'confirm') {
      const fields = Object.entries(outcome.fields).flatMap(([name, value]) => (value === undefined ? [] : [{ name, value }]))
      const form = { action: `${base}/connect/endSession`, csrf: outcome.csrf }
      return render(reply, { page: 'confirm_sign_out', form, fields, client_name: outcome.client_name }, { formTargets: outcome.formTargets })
    }
    clearSessionCookie(reply, cookies)
    if (outcome.type === 'redirect') return noStore(reply).redirect(outcome.location, 302)
    return render(reply, { page: 'signed_out' })
  }
  app.get(`${base}/connect/endSession`, { config: html }, endSessionHandler)
  app.post(`${base}/connect/endSession`, { config: html }, endSessionHandler)
}
