/**
 * The API Platform's OAuth service as this node serves it: on a listener of its own (`apiPort`,
 * reached at `apiBaseUrl`), as a relying party of this deployment's CIS2 (the provider at
 * `issuer`). Its client at the provider is registered at every start (confidential,
 * `client_secret_post`, redirect URI `{api base}/oauth2/callback`, back-channel logout URI
 * `{api base}/oauth2/backchannel_logout`). Its secret is derived from the key-encryption key, so
 * every node given that key knows it and the store holds only its hash, as of any client's secret.
 */
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import { apiPlatformRoutes, createCis2Provider, createPlatformTokenRoute, gatewayRoutes, platformBackchannelLogoutUrl, platformCallbackUrl, sampleAal3Api, type Release } from '@careid/apim'
import { buildServiceServer } from '@careid/http'
import { endpointsOf, registerClient, sha256 } from '@careid/oidc'
import { patientApi } from '@careid/pds'
import { announce, type CareidContext } from './context.ts'
import type { Settings } from './settings.ts'

/** The API Platform's client id at Careid's provider (CIS2's shape: 12 digits and `.apps.national`). */
export const apiPlatformClientId = '100000000002.apps.national'

/** The secret of the API Platform's client at the provider: the same on every node that shares the key-encryption key. */
export function apiPlatformClientSecret(ctx: Pick<CareidContext, 'deriveSecret'>): string {
  return ctx.deriveSecret('api-platform/cis2-client-secret')
}

/** Registers (or re-points) the API Platform's client at the provider; returns whether the stored registration changed. */
export async function registerApiPlatformClient(ctx: CareidContext): Promise<boolean> {
  const apiBaseUrl = ctx.settings.apiBaseUrl
  const stored = await ctx.store.clients.get(apiPlatformClientId)
  const { client } = registerClient(
    {
      client_id: apiPlatformClientId,
      client_name: 'NHS API Platform (combined authentication and authorisation)',
      redirect_uris: [platformCallbackUrl(apiBaseUrl)],
      post_logout_redirect_uris: [],
      backchannel_logout_uri: platformBackchannelLogoutUrl(apiBaseUrl),
      token_endpoint_auth_method: 'client_secret_post',
      refresh_tokens: false,
    },
    stored?.created_at ?? Date.now(),
  )
  const wanted = { ...client, client_secret_hash: sha256(apiPlatformClientSecret(ctx)) }
  if (stored !== undefined && JSON.stringify(stored) === JSON.stringify(wanted)) return false
  await ctx.store.clients.put(wanted)
  await announce(ctx, { type: 'client.changed', client_id: apiPlatformClientId })
  return true
}

/** What `/oauth2/_ping` and `/oauth2/_status` say is deployed. */
function release(): Release {
  // By package name, not by a path relative to this file: the path differs once bundled (dist/, dist/bench/).
  const { version } = createRequire(import.meta.url)('@careid/cli/package.json') as { version: string }
  return { version, revision: version, releaseId: `careid-${version}`, commitId: 'unknown' }
}

export interface RunningApiPlatform {
  app: FastifyInstance
  /** Where it is reached. */
  baseUrl: string
}

/** Builds the API Platform's server on `ctx` and listens on `apiPort`; the caller closes `app`. */
export async function serveApiPlatform(ctx: CareidContext, now: () => number): Promise<RunningApiPlatform> {
  const { settings } = ctx
  await registerApiPlatformClient(ctx)
  const cis2 = createCis2Provider(cis2SettingsOf(settings, apiPlatformClientSecret(ctx)))
  let app: FastifyInstance | undefined
  const routes = [
    ...apiPlatformRoutes({ store: ctx.store, secrets: ctx.secrets, cis2, baseUrl: settings.apiBaseUrl, now, release: release(), statusApiKey: settings.apiStatusKey }),
    createPlatformTokenRoute({ store: ctx.store, now, tokenUrl: `${settings.apiBaseUrl}/oauth2/token`, environment: settings.apiEnvironment, cis2: { issuer: settings.issuer, keys: cis2.keys } }),
    // The APIs behind the gateway: the Patient API (PDS) and the sample API only an AAL3 sign-in may use.
    ...gatewayRoutes([patientApi({ patients: ctx.store.patients, now, origin: settings.apiBaseUrl }), sampleAal3Api], {
      store: ctx.store,
      now,
      rateLimit: { perSecond: settings.apiRateLimit },
      log: { refused: (entry) => app?.log.info({ api_refusal: entry }, 'API call refused') },
    }),
  ]
  app = await buildServiceServer({ routes, baseUrl: settings.apiBaseUrl, logLevel: settings.logLevel })
  await app.listen({ port: settings.apiPort, host: settings.host })
  return { app, baseUrl: settings.apiBaseUrl }
}

/** CIS2 as the platform reaches it: this deployment's provider, by its issuer's endpoints. */
function cis2SettingsOf(settings: Settings, clientSecret: string) {
  const endpoints = endpointsOf(settings.issuer)
  return {
    issuer: settings.issuer,
    authorizationEndpoint: endpoints.authorization,
    tokenEndpoint: endpoints.token,
    userinfoEndpoint: endpoints.userinfo,
    jwksUri: endpoints.jwks,
    clientId: apiPlatformClientId,
    clientSecret,
  }
}
