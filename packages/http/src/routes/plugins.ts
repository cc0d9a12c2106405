/**
 * Plugins' endpoints (the smartcard plugin's `{issuer}/agent/...`), mounted under the issuer: JSON
 * in, JSON out, `Cache-Control: no-store`. A `PluginRefusal` answers its status and
 * `{ error, error_description, ...extra }`; any other error goes to the one error handler as JSON.
 * Nothing here logs a body (it may carry assertions or secrets) or the Authorization header.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { PluginRefusal, type PluginRequest, type PluginRoute } from '@careid/ports'
import { noteRefusal } from '../metrics.ts'

export interface PluginRouteOptions {
  routes: readonly PluginRoute[]
  base: string
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json').send(JSON.stringify(body))
}

function pluginRequest(request: FastifyRequest): PluginRequest {
  return {
    body: request.body,
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
      try {
        return send(reply, 200, await route.handle(pluginRequest(request)))
      } catch (error) {
        if (!(error instanceof PluginRefusal)) throw error
        noteRefusal(request, error)
        return send(reply, error.status, { error: error.error, error_description: error.description, ...error.extra })
      }
    })
  }
}
