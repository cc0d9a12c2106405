/**
 * The server of a service on its own origin beside the provider (the API Platform's OAuth service
 * and the APIs behind its gateway): Fastify serving the `ServiceRoute`s the composition root hands
 * it, so this layer imports no service. Its own listener keeps its cookies and the provider's apart.
 *
 * Bodies are parsed by content type: forms and JSON (`application/json` and every
 * `application/<x>+json`, such as JSON Patch and FHIR JSON) as values; any other type reaches the
 * route as its raw text, so the route answers it in its own protocol's words (the platform's token
 * endpoint has its own text for a body that is not a form). Refusals thrown as `OAuthError` and
 * anything unexpected are answered by the one error renderer; logs carry the method and path only,
 * never a query (codes, states) or the Authorization header.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import type { ServiceRequest, ServiceResponse, ServiceRoute } from '@careid/ports'
import { notFoundJson, sendJsonError, toOAuthError } from './render_error.ts'
import { requestLogOptions } from './request_log.ts'
import { registerSecurityHeaders } from './security_headers.ts'

export interface ServiceServerOptions {
  routes: readonly ServiceRoute[]
  /** The service's own origin (and any base path), e.g. `https://api.example.nhs.uk`. */
  baseUrl: string
  /** Log level (pino), or false for no logs. */
  logLevel?: string | false | undefined
  /** Honour X-Forwarded-* from a proxy in front. */
  trustProxy?: boolean | undefined
  /** Largest request body accepted (bytes). */
  bodyLimit?: number | undefined
}

/** `application/json` and the structured-syntax `+json` types (RFC 6839 3.1). */
const jsonType = /^application\/(?:[\w.-]+\+)?json$/

function mediaType(request: FastifyRequest): string | undefined {
  const header = request.headers['content-type']
  if (header === undefined || header === '') return undefined
  return header.split(';')[0]!.trim().toLowerCase()
}

function serviceRequest(request: FastifyRequest): ServiceRequest {
  return {
    method: request.method,
    params: (request.params ?? {}) as Record<string, string>,
    query: (request.query ?? {}) as Record<string, string | string[]>,
    body: request.body,
    contentType: mediaType(request),
    header(name) {
      const value = request.headers[name.toLowerCase()]
      return typeof value === 'string' ? value : undefined
    },
    ip: request.ip,
    url: request.url,
  }
}

function send(reply: FastifyReply, response: ServiceResponse): FastifyReply {
  reply.code(response.status)
  for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value)
  if (response.json === undefined) return reply.send()
  if (!reply.hasHeader('content-type')) reply.type('application/json')
  return reply.send(JSON.stringify(response.json))
}

export async function buildServiceServer(options: ServiceServerOptions): Promise<FastifyInstance> {
  const base = new URL(options.baseUrl)
  const prefix = base.pathname.replace(/\/$/, '')
  const bodyLimit = options.bodyLimit ?? 64 * 1024
  const app = Fastify({
    logger: options.logLevel === undefined || options.logLevel === false ? false : requestLogOptions(options.logLevel),
    trustProxy: options.trustProxy ?? false,
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    forceCloseConnections: 'idle',
  })
  app.setErrorHandler((error, request, reply) => sendJsonError(request, reply, toOAuthError(error)))
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('application/json').send(notFoundJson))

  await app.register(formbody, { bodyLimit })
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(jsonType, { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined)
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(Object.assign(new Error('malformed JSON'), { statusCode: 400 }), undefined)
    }
  })
  // Any other type: the raw text, for the route to refuse in its own words.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  registerSecurityHeaders(app, { https: base.protocol === 'https:' })

  for (const route of options.routes) {
    app.route({
      method: route.method,
      url: prefix + route.path,
      handler: async (request, reply) => send(reply, await route.handle(serviceRequest(request))),
    })
  }
  return app
}
