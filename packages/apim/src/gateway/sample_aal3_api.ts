/**
 * A small API that only an AAL3 sign-in may use (catalogue product `sample-aal3-api`), served so
 * that the gateway's step-up refusal (RFC 9470) is exercised end to end: `GET /hello` answers who
 * called, as the gateway established it. It maps no refusals, so the gateway's defaults (the
 * platform's shared flows' OperationOutcomes) answer them.
 */
import type { GatewayApi } from '@careid/ports'

export const sampleAal3BasePath = '/sample-aal3-api'

export const sampleAal3Api: GatewayApi = {
  product: 'sample-aal3-api',
  basePath: sampleAal3BasePath,
  routes: [
    {
      method: 'GET',
      path: '/hello',
      async handle(_request, caller) {
        // The product has user-restricted scopes only: an application-restricted caller never passes the gateway.
        const who = caller.mode === 'healthcare_worker' ? { sub: caller.sub, roleId: caller.roleId, aal: caller.aal } : {}
        return { status: 200, json: { message: 'Hello from the sample AAL3 API', mode: caller.mode, apiKey: caller.apiKey, ...who } }
      },
    },
  ],
}
