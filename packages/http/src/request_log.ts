/**
 * How every Careid listener logs a request: by method and path only. Queries carry codes, states
 * and hints, headers carry tokens and cookies; none of them is ever written.
 */
import type { FastifyRequest } from 'fastify'

/** Fastify's logger options at `level`. */
export function requestLogOptions(level: string) {
  return {
    level,
    serializers: {
      req: (req: FastifyRequest) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  }
}
