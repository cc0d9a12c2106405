/** Prometheus metrics: HTTP traffic by route, back-channel logout delivery, process defaults. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { FastifyInstance } from 'fastify'

export interface Metrics {
  registry: Registry
  logout: { delivered(): void; failed(): void; gaveUp(): void }
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'careid_' })
  const logout = new Counter({
    name: 'careid_backchannel_logout_total',
    help: 'Back-channel logout delivery attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  return {
    registry,
    logout: {
      delivered: () => logout.inc({ outcome: 'delivered' }),
      failed: () => logout.inc({ outcome: 'failed' }),
      gaveUp: () => logout.inc({ outcome: 'gave_up' }),
    },
  }
}

export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  const requests = new Histogram({
    name: 'careid_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics.registry],
  })
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL: ids and codes never become label values.
    requests.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000)
    done()
  })
}
