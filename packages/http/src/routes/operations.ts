/** Liveness, readiness and metrics for operators and load balancers. */
import type { FastifyInstance } from 'fastify'
import type { Metrics } from '../metrics.ts'

export async function operationsRoutes(app: FastifyInstance, options: { ready: () => Promise<boolean>; metrics: Metrics }): Promise<void> {
  app.get('/health', (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }))
  app.get('/ready', async (_request, reply) => {
    const ok = await options.ready().catch(() => false)
    return reply.code(ok ? 200 : 503).header('cache-control', 'no-store').send({ status: ok ? 'ready' : 'unavailable' })
  })
  app.get('/metrics', async (_request, reply) => reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()))
}
