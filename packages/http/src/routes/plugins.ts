/**
 * Plugins' endpoints (the smartcard plugin's `{issuer}/agent/...`), mounted under the issuer: JSON
 * in, JSON out, `Cache-Control: no-store`. A refusal (a `PluginRefusal`, of the one error family)
 * and any other error go to the one error handler, which answers JSON for these routes. Nothing
 * here logs a body (it may carry assertions or secrets) or the Authorization header.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { PluginRequest, PluginRoute } from '@careid/ports'

export interface PluginRouteOptions {
  routes: readonly PluginRoute[]
  base: string
}

function pluginRequest(request: FastifyRequest, signal: AbortSignal): PluginRequest {
  return {
    body: request.body,
    source: request.ip,
    signal,
    header(name) {
      const value = request.headers[name.toLowerCase()]
      return typeof value === 'string' ? value : undefined
    },
  }
}

export async function pluginRoutes(app: FastifyInstance, options: PluginRouteOptions): Promise<void> {
  const config = { config: { errorFormat: 'json' as const } }
  for (const route of options.routes) {
    app.post(options.base + route.path, config, async (request, reply) => {
      const gone = new AbortController()
      // The client went away before the answer: a waiting route (a long poll) stops waiting.
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) gone.abort()
      })
      const body = await route.handle(pluginRequest(request, gone.signal))
      return reply.code(200).header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json').send(JSON.stringify(body))
    })
  }
}
