/**
 * The HTTP server: Fastify with the protocol endpoints, the sign-in pages, static assets and the
 * operations endpoints. Errors are rendered in one place, per route as JSON, a Bearer challenge or
 * a page; nothing internal ever reaches a response. Logs carry the route, never query strings,
 * cookies or Authorization headers (codes, tokens and personal data travel in those).
 */
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import fastifyStatic from '@fastify/static'
import type { Provider } from '@careid/oidc'
import type { PluginAssets, PluginRoute, RateCounter } from '@careid/ports'
import { assetsDirectories } from '@careid/ui'
import type { CookiePolicy } from './cookies.ts'
import { registerCors } from './cors.ts'
import { registerHttpMetrics, type Metrics } from './metrics.ts'
import { createRateLimiter, type RateLimits } from './rate_limit.ts'
import { createPageRenderer } from './pages.ts'
import { sendErrorPage, sendJsonError, sendNotFound, toOAuthError } from './render_error.ts'
import { accountRoutes } from './routes/account.ts'
import { interactionRoutes } from './routes/interaction.ts'
import { operationsRoutes } from './routes/operations.ts'
import { pluginRoutes } from './routes/plugins.ts'
import { protocolRoutes } from './routes/protocol.ts'
import { requestLogOptions } from './request_log.ts'
import { registerSecurityHeaders } from './security_headers.ts'
import { staticDocumentHandler } from './static_documents.ts'

export interface ServerOptions {
  provider: Provider
  metrics: Metrics
  /** Store reachable and migrated. */
  ready: () => Promise<boolean>
  /** Log level (pino), or false for no logs. */
  logLevel?: string | false
  /** Honour X-Forwarded-* from a proxy in front. */
  trustProxy?: boolean
  /** Largest request body accepted (bytes). */
  bodyLimit?: number
  /** Where the rate limits count (shared by every node), and the limits. */
  rates: RateCounter
  rateLimits: RateLimits
  /** The bearer token /metrics requires on this server; absent, it does not serve /metrics (metrics_endpoint.ts). */
  metricsToken?: string | undefined
  /** Plugins' endpoints (the smartcard plugin's agent endpoints), mounted under the issuer; the composition root collects them. */
  pluginRoutes?: readonly PluginRoute[] | undefined
  /** Plugins' static files (browser scripts, the mobile app), mounted at their prefixes under the issuer's path. */
  pluginAssets?: readonly PluginAssets[] | undefined
}

/** The compilers Fastify would build itself, resolved from Fastify's own dependencies: loaded on first use. */
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'))

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>

function lazyCompiler<K extends keyof CompilersFactory>(name: '@fastify/ajv-compiler' | '@fastify/fast-json-stringify-compiler'): CompilersFactory[K] {
  let selector: ((...args: unknown[]) => unknown) | undefined
  const build = (...args: unknown[]) => {
    selector ??= (fromFastify(name) as () => (...args: unknown[]) => unknown)()
    return selector(...args)
  }
  return build as CompilersFactory[K]
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const issuer = new URL(options.provider.config.issuer)
  const base = issuer.pathname.replace(/\/$/, '')
  const https = issuer.protocol === 'https:'
  const cookies: CookiePolicy = { secure: https, path: base === '' ? '/' : base }

  // Discovery and the JWKS skip the router (static_documents.ts); everything else goes to Fastify.
  const documents = [
    { path: `${base}/.well-known/openid-configuration`, contentType: 'application/json; charset=utf-8', body: options.provider.discoveryJson },
    { path: `${base}/connect/jwk_uri`, contentType: 'application/jwk-set+json; charset=utf-8', body: options.provider.jwksJson },
  ]
  const app = Fastify({
    serverFactory: (handler) => createServer(staticDocumentHandler(documents, { https, registry: options.metrics.registry }, handler)),
    logger: options.logLevel === undefined || options.logLevel === false ? false : requestLogOptions(options.logLevel),
    trustProxy: options.trustProxy ?? false,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // On close, idle keep-alive connections are closed at once (busy ones: see the hooks below).
    forceCloseConnections: 'idle',
    // No route declares a JSON schema, so Fastify's schema compilers (Ajv, fast-json-stringify) are
    // loaded only if one ever does: Fastify builds them when it makes the server, and they would
    // stay in every node's memory unused. (Fastify then treats them as custom compilers, which
    // changes only how a headers schema is passed to them.)
    schemaController: { compilersFactory: { buildValidator: lazyCompiler<'buildValidator'>('@fastify/ajv-compiler'), buildSerializer: lazyCompiler<'buildSerializer'>('@fastify/fast-json-stringify-compiler') } },
  })

  // Draining (app.close): Fastify stops accepting and answers requests arriving on open connections
  // with 503; a request already in flight finishes, and its response says `Connection: close` so its
  // keep-alive connection ends with it rather than holding the node open until the idle timeout.
  // The static documents bypass Fastify and its hooks, so until the server has closed, connections
  // they leave idle are also closed as they go idle.
  let draining = false
  let sweep: NodeJS.Timeout | undefined
  app.addHook('preClose', async () => {
    draining = true
    sweep = setInterval(() => app.server.closeIdleConnections(), 250).unref()
  })
  // A callback hook, not an async one: it runs on every response, and an async hook costs a promise
  // and a turn of the microtask queue each time.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('onClose', async () => {
    clearInterval(sweep)
  })

  const assets = '/assets'
  const render = createPageRenderer(assets)

  app.setErrorHandler((error, request, reply) => {
    const oauth = toOAuthError(error)
    const format = request.routeOptions.config.errorFormat ?? 'json'
    if (format === 'html') return sendErrorPage(request, reply, render, oauth)
    return sendJsonError(request, reply, oauth, format === 'bearer' ? options.provider.config.issuer : undefined)
  })
  app.setNotFoundHandler((request, reply) => sendNotFound(request, reply, render))

  await app.register(cookie)
  await app.register(formbody, { bodyLimit: options.bodyLimit ?? 64 * 1024 })
  registerSecurityHeaders(app, { https })
  registerHttpMetrics(app, options.metrics, base, () => options.provider.grantTypes())
  // The directories' prefixes are already the full URL paths the pages link to (/assets/...);
  // prefixing them again served the stylesheet and icons at /assets/assets/ and every page unstyled.
  for (const [i, dir] of assetsDirectories().entries()) {
    await app.register(fastifyStatic, { root: dir.root, prefix: dir.prefix, decorateReply: i === 0, index: false, maxAge: '1h' })
  }
  for (const assets of options.pluginAssets ?? []) {
    await app.register(fastifyStatic, { root: assets.root, prefix: base + assets.prefix, decorateReply: false, index: 'index.html', maxAge: '1h' })
  }
  const limiter = createRateLimiter(options.rates, options.rateLimits)
  registerCors(app, { endpoints: options.provider.endpoints, clients: options.provider.clients })
  await app.register(protocolRoutes, { provider: options.provider, base, cookies, render, limiter })
  await app.register(interactionRoutes, { provider: options.provider, base, cookies, render, limiter })
  await app.register(accountRoutes, { provider: options.provider, base, cookies, render, limiter })
  await app.register(pluginRoutes, { routes: options.pluginRoutes ?? [], base })
  await app.register(operationsRoutes, { ready: options.ready, metrics: options.metrics, metricsToken: options.metricsToken })
  return app
}
