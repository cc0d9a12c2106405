/**
 * `/oauth2/authorize` by any method but GET: 405 with `Allow: GET` and no body, as the platform
 * answers it (identity-service's RaiseFault.UnsupportedAuthorizeHTTPMethod).
 */
import type { ServiceRoute } from '@careid/ports'

export function authorizeMethodRoutes(): ServiceRoute[] {
  return (['POST', 'PATCH'] as const).map((method) => ({
    method,
    path: '/oauth2/authorize',
    handle: async () => ({ status: 405, headers: { allow: 'GET' } }),
  }))
}
