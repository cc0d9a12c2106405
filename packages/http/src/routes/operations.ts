/** Liveness, readiness and metrics for operators and load balancers. */
import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../metrics.ts'
import { checkMetricsToken } from '../metrics_endpoint.ts'

export interface OperationsRouteOptions {
  ready: () => Promise<boolean>
  metrics: Metrics
  /** The bearer token /metrics requires here; absent, /metrics is not served on this server (metrics_endpoint.ts). */
  metricsToken?: string | undefined
}

export async function operationsRoutes(app: FastifyInstance, options: OperationsRouteOptions): Promise<void> {
  app.get('/health', (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }))
  app.get('/ready', async (_request, reply) => {
    const ok = await options.ready().catch(() => false)
    return reply.code(ok ? 200 : 503).header('cache-control', 'no-store').send({ status: ok ? 'ready' : 'unavailable' })
  })
  const token = options.metricsToken
  if (token === undefined) return
  app.get('/metrics', async (request, reply) => {
    reply.header('cache-control', 'no-store')
    const refusal = checkMetricsToken(request.headers.authorization, token)
    if (refusal !== undefined) {
      reply.code(refusal.status).header('www-authenticate', refusal.challenge)
      return refusal.body === undefined ? reply.send() : reply.type('application/json').send(refusal.body)
    }
    return reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics())
  })
}
