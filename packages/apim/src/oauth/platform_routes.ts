/**
 * The API Platform's OAuth 2.0 service (cis2.md 6.1), as the routes of its own origin: the browser
 * side of the combined pattern (`/oauth2/authorize`, `/oauth2/callback`), the proxied
 * `/oauth2/userinfo`, CIS2's `/oauth2/backchannel_logout`, and `/oauth2/_ping` and `/oauth2/_status`.
 */
import type { ServiceRoute } from '@careid/ports'
import { authorizeMethodRoutes } from './authorize_methods_route.ts'
import { authorizeRoute } from './authorize_route.ts'
import { backchannelLogoutRoute } from './backchannel_logout_route.ts'
import { callbackRoute } from './callback_route.ts'
import type { PlatformDeps } from './platform_deps.ts'
import { withMessageId } from '../platform_errors.ts'
import { pingRoute, type Release } from './ping_route.ts'
import { statusRoute } from './status_route.ts'
import { userinfoRoute } from './userinfo_route.ts'

export interface ApiPlatformOptions extends PlatformDeps {
  release: Release
  /** The key `/oauth2/_status` asks for in its `apikey` header; absent, it is open. */
  statusApiKey?: string | undefined
}

export function apiPlatformRoutes(options: ApiPlatformOptions): ServiceRoute[] {
  const routes = [
    authorizeRoute(options),
    ...authorizeMethodRoutes(),
    callbackRoute(options),
    userinfoRoute(options),
    backchannelLogoutRoute(options),
    pingRoute(options.release),
    statusRoute(options, options.release, options.statusApiKey),
  ]
  // Every refusal with its message_id, and anything unexpected as the platform's catch-all.
  return routes.map((route) => ({
    ...route,
    handle: async (request) => {
      try {
        return await route.handle(request)
      } catch (error) {
        throw withMessageId(error)
      }
    },
  }))
}
