/**
 * CORS (the Fetch standard's CORS protocol), so that browser applications (single-page apps with
 * PKCE) can use Careid:
 * - discovery and the JWKS are public documents, the same for everyone: any origin may read them
 *   (`Access-Control-Allow-Origin: *`);
 * - the token, userinfo and revocation endpoints answer the web origins of the client a request
 *   is for (its listed ones, else its redirect URIs' origins), echoed with `Vary: Origin`; any
 *   other origin gets no CORS headers and its page cannot read the response (the request itself is
 *   processed exactly as without CORS);
 * - introspection is for servers (a confidential client's secret has no place in a page): no CORS.
 * `Access-Control-Allow-Credentials` is never sent. None of these endpoints reads a cookie, and
 * without it a browser never lets a page read a response to a request that carried cookies, so no
 * page can make the browser's Careid session act for it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify'
import { claimedClientId, webOriginsOf, type Endpoints, type RawParams } from '@careid/oidc'
import type { ClientRecord } from '@careid/ports'

/** How long a browser may cache a preflight's answer (seconds). */
const preflightMaxAge = '600'
/** What a page may send: credentials, the form's type, and a DPoP proof. */
const allowedHeaders = 'Authorization, Content-Type, DPoP'

export interface CorsClients {
  get(clientId: string): Promise<ClientRecord | undefined>
  hasWebOrigin(origin: string): Promise<boolean>
}

/** The headers of a public document's response (the static fast path sends them too). */
export const publicDocumentCors = { 'access-control-allow-origin': '*' } as const

/** Registers the preflight routes and the CORS headers of actual requests (before the routes themselves). */
export function registerCors(app: FastifyInstance, options: { endpoints: Endpoints; clients: CorsClients }): void {
  const { endpoints, clients } = options
  const path = (url: string) => new URL(url).pathname

  // A preflight (OPTIONS with Access-Control-Request-Method) names no client: neither the body nor
  // the Authorization header is sent with it. So for the per-client endpoints it is allowed for any
  // origin some client registered, and what the page may read is decided on the actual request,
  // for the client that request names (below). A preflight lets a request through and nothing
  // more: a token or revocation request without an Authorization header is a simple request,
  // which a browser sends without any preflight anyway.
  const preflight = (methods: string, allowOrigin: (origin: string) => Promise<string | undefined>, perOrigin: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin
    if (origin === undefined || request.headers['access-control-request-method'] === undefined) return reply.callNotFound()
    if (perOrigin) reply.header('vary', 'Origin')
    const allowed = await allowOrigin(origin)
    if (allowed !== undefined) {
      reply
        .header('access-control-allow-origin', allowed)
        .header('access-control-allow-methods', methods)
        .header('access-control-allow-headers', allowedHeaders)
        .header('access-control-max-age', preflightMaxAge)
    }
    return reply.code(204).send()
  }
  const anyOrigin = async () => '*'
  const registeredOrigin = async (origin: string) => ((await clients.hasWebOrigin(origin)) ? origin : undefined)
  for (const url of [endpoints.discovery, endpoints.jwks]) app.options(path(url), preflight('GET', anyOrigin, false))
  app.options(path(endpoints.token), preflight('POST', registeredOrigin, true))
  app.options(path(endpoints.userinfo), preflight('GET, POST', registeredOrigin, true))
  app.options(path(endpoints.revocation), preflight('POST', registeredOrigin, true))

  // Actual requests: which client each is for, read as the endpoint reads it.
  const clientOf = new Map<string, (request: FastifyRequest) => string | undefined>([
    [path(endpoints.token), formClient],
    [path(endpoints.revocation), formClient],
    [path(endpoints.userinfo), bearerClient],
  ])
  const publicPaths = new Set([path(endpoints.discovery), path(endpoints.jwks)])

  const onSend: onSendHookHandler = (request, reply, payload, done) => {
    const route = request.routeOptions.url
    if (route === undefined || request.method === 'OPTIONS') return done(null, payload)
    if (publicPaths.has(route)) {
      reply.headers(publicDocumentCors)
      return done(null, payload)
    }
    const client = clientOf.get(route)
    if (client === undefined) return done(null, payload)
    reply.header('vary', 'Origin')
    const origin = request.headers.origin
    const clientId = origin === undefined ? undefined : client(request)
    if (origin === undefined || clientId === undefined) return done(null, payload)
    clients.get(clientId).then(
      (record) => {
        if (record !== undefined && webOriginsOf(record).includes(origin)) {
          reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', 'WWW-Authenticate')
        }
        done(null, payload)
      },
      // The store is unreachable: the response goes out as it is, readable by no page.
      () => done(null, payload),
    )
  }
  app.addHook('onSend', onSend)
}

/**
 * Token and revocation requests: the client they name (client_id, Basic credentials or an
 * assertion's iss). Unverified, and it need not be: the response was produced with the client
 * fully authenticated, and it is readable only by a page of an origin that client registered,
 * which is where the client's own pages are.
 */
function formClient(request: FastifyRequest): string | undefined {
  const body = request.body
  const params = body !== null && typeof body === 'object' ? (body as RawParams) : {}
  return claimedClientId(params, request.headers.authorization)
}

/**
 * Userinfo: the client the access token was issued to (its `client_id` claim), read without
 * checking the signature. A forged token gets only the same 401 as any bad token; a genuine one
 * names its real client.
 */
function bearerClient(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  const body = request.body !== null && typeof request.body === 'object' ? (request.body as Record<string, unknown>).access_token : undefined
  const token = header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : typeof body === 'string' ? body : undefined
  const payload = token?.split('.')[1]
  if (payload === undefined) return undefined
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { client_id?: unknown }
    return typeof claims.client_id === 'string' ? claims.client_id : undefined
  } catch {
    return undefined
  }
}
