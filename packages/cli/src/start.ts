/**
 * `careid start`: one Careid node, on the embedded SQLite store or, scaled out, on PostgreSQL (with
 * Redis for the short-lived data if given) shared with other nodes; with the demo workforce and the
 * demo relying party unless told otherwise. `stop` (on SIGTERM or SIGINT) drains: the server stops
 * accepting and finishes requests in flight while background work stops and the outbox claims are
 * released, then the store's connections close.
 */
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { hostname } from 'node:os'
import { defaultAuthenticators, defaultEnrolment } from '@careid/authenticators'
import { createDirectory } from '@careid/domain'
import { buildServer, createMetrics, createMetricsServer, createPageRenderer } from '@careid/http'
import type { CardAuthority } from '@careid/cards'
import { createProvider, defaultConfig, type Provider, type ProviderConfig, type ProviderDeps } from '@careid/oidc'
import type { AeadSecretBox, AuthenticatorPlugin, CardContext, CredentialContext, SecretBox, Store, WebAuthnContext } from '@careid/ports'
import type { PopulationOptions } from '@careid/pds'
import { smartcardPlugin } from '@careid/smartcard'
import { loadMdsBlob, MetadataError, webAuthnPlugin, type MdsBlob } from '@careid/webauthn'
import type { FastifyInstance } from 'fastify'
import { serveApiPlatform, type RunningApiPlatform } from './api_platform.ts'
import { openContext, StartupError, type CareidContext } from './context.ts'
import { seedDemoClient, seedDemoPopulation, seedDemoWorkforce, type DemoClient } from './seed.ts'
import type { Settings } from './settings.ts'

export interface RunningCareid {
  app: FastifyInstance
  context: CareidContext
  /** The demo relying party's registration; absent when started without the demo. */
  demo: DemoClient | undefined
  provider: ReturnType<typeof createProvider>
  /** The API Platform's OAuth service on its own listener; absent when this node serves only the provider. */
  api: RunningApiPlatform | undefined
  stop(): Promise<void>
}

/**
 * An authenticator plugin beyond the built-in ones, made once the provider exists: it takes the
 * store parts it needs (and only those) and what it uses of the provider, and contributes its
 * authenticators and routes.
 */
export type CareidPlugin = (wiring: { provider: Provider; store: Store; secrets: SecretBox; now: () => number }) => AuthenticatorPlugin

/** The store parts the password and TOTP authenticators use. */
export function credentialContext(store: Store, secrets: SecretBox): CredentialContext {
  return { people: store.people, credentials: store.credentials, rates: store.rates, secrets }
}

/** The store parts the smartcard plugin uses. */
function cardContext(store: Store): CardContext {
  return { cards: store.cards, interactions: store.interactions, replay: store.replay, people: store.people, audit: store.audit }
}

/** The store parts the WebAuthn plugin uses. */
function webAuthnContext(store: Store): WebAuthnContext {
  return { credentials: store.credentials, replay: store.replay, audit: store.audit }
}

/** The operator's FIDO metadata blob, verified now: one that does not verify stops the start, saying why. */
function fidoMetadata(file: string | undefined, now: number): MdsBlob | undefined {
  if (file === undefined) return undefined
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new StartupError(`--fido-metadata ${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`)
  }
  try {
    return loadMdsBlob(text, now)
  } catch (error) {
    if (error instanceof MetadataError) throw new StartupError(`--fido-metadata ${file}: ${error.message}`)
    throw error
  }
}

export interface StartOptions {
  /** The provider's clock (tests move it instead of waiting hours); the wall clock by default. */
  now?: (() => number) | undefined
  /** Offered after the built-in authenticators (password, TOTP, smartcard), in order. */
  plugins?: readonly CareidPlugin[] | undefined
  /** The demo's synthetic population (its size and seed); the full default population if absent. */
  demoPopulation?: PopulationOptions | undefined
}

export async function startCareid(settings: Settings, overrides: Partial<ProviderConfig> = {}, options: StartOptions = {}): Promise<RunningCareid> {
  const context = await openContext(settings)
  try {
    return await serve(settings, context, overrides, options.now ?? Date.now, options.plugins ?? [], options.demoPopulation)
  } catch (error) {
    // A node that cannot listen (port taken) must not leave pools and subscriptions open.
    await context.close().catch(() => undefined)
    throw error
  }
}

async function serve(
  settings: Settings,
  context: CareidContext,
  overrides: Partial<ProviderConfig>,
  now: () => number,
  extraPlugins: readonly CareidPlugin[],
  demoPopulation: PopulationOptions | undefined,
): Promise<RunningCareid> {
  let demo: DemoClient | undefined
  if (settings.demo) {
    await seedDemoWorkforce(context)
    demo = await seedDemoClient(context)
    await seedDemoPopulation(context.store.patients, demoPopulation)
  }
  const metrics = createMetrics()
  const { provider, plugins } = composeProvider(settings, context, { overrides, now, extraPlugins, metrics: metrics.logout })
  await provider.registerAccountClient()
  const app = await buildServer({
    provider,
    metrics,
    ready: () => context.store.ping(),
    logLevel: settings.logLevel,
    rates: context.store.rates,
    rateLimits: {
      signIn: { limit: settings.signInRateLimit, windowMs: 60_000 },
      token: { limit: settings.tokenRateLimit, windowMs: 60_000 },
    },
    // With a listener of its own, the main port does not serve /metrics at all.
    metricsToken: settings.metricsPort === undefined ? settings.metricsToken : undefined,
    pluginRoutes: plugins.flatMap((plugin) => plugin.routes ?? []),
    pluginAssets: plugins.flatMap((plugin) => plugin.assets ?? []),
  })
  if (demo !== undefined) {
    // Loaded only with the demo: a production node (--no-demo) never loads it or its OpenID client.
    const { demoRelyingParty } = await import('./demo_rp.ts')
    await app.register(demoRelyingParty, {
      provider,
      client: demo,
      baseUrl: settings.baseUrl,
      render: createPageRenderer('/assets'),
      secure: settings.baseUrl.startsWith('https:'),
    })
  }
  try {
    await app.listen({ port: settings.port, host: settings.host })
  } catch (error) {
    await app.close()
    throw listenError(error, settings.port, settings.host, '--port or CAREID_PORT')
  }
  const metricsServer = settings.metricsPort === undefined ? undefined : createMetricsServer(metrics, settings.metricsToken)
  if (metricsServer !== undefined) {
    const port = settings.metricsPort as number
    try {
      await new Promise<void>((resolve, reject) => {
        metricsServer.once('error', reject)
        metricsServer.listen(port, settings.metricsHost, () => {
          metricsServer.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      await app.close()
      throw listenError(error, port, settings.metricsHost, '--metrics-port or CAREID_METRICS_PORT')
    }
  }
  let api: RunningApiPlatform | undefined
  if (settings.only !== 'provider') {
    try {
      api = await serveApiPlatform(context, now)
    } catch (error) {
      await Promise.all([app.close(), closeMetricsServer(metricsServer)])
      throw listenError(error, settings.apiPort, settings.host, '--api-port or CAREID_API_PORT')
    }
  }
  provider.startBackground()

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      // No new connections; requests in flight finish (Fastify's close waits for them). Meanwhile
      // the loops stop and this node's outbox claims are released at once, so other nodes deliver
      // those logouts without waiting for this node's slowest request or for the claims' lease. If
      // the store is down the release fails and the claims lapse with their lease: shutdown goes on.
      await Promise.all([
        app.close(),
        api?.app.close(),
        closeMetricsServer(metricsServer),
        provider.stopBackground().catch((error: unknown) => app.log.warn({ err_detail: (error as Error).message }, 'outbox claims not released')),
      ])
      // Only then the store, which the requests in flight were still using.
      await context.close().catch((error: unknown) => app.log.warn({ err_detail: (error as Error).message }, 'store not closed cleanly'))
    })())
  return { app, context, demo, provider, api, stop }
}

/**
 * The provider with every plugin's authenticators, enrollers and credential kinds registered on it:
 * what `careid start` serves, and what commands ask about what is offered (the methods an RA may
 * issue an enrolment code for). Plugins are wired here, in the order the method choice lists them.
 */
export function composeProvider(
  settings: Settings,
  context: CareidContext,
  options: { overrides?: Partial<ProviderConfig>; now: () => number; extraPlugins?: readonly CareidPlugin[]; metrics?: ProviderDeps['metrics'] },
): { provider: Provider; plugins: AuthenticatorPlugin[] } {
  const now = options.now
  // The card authority (its key sealed like the signing keys) is opened when a card is first
  // presented, or made then if no node or `careid cards` has made it yet; every node loads the same
  // one. Until then its X.509 library is not loaded at all: most nodes' memory never holds it.
  let cardAuthority: Promise<CardAuthority> | undefined
  const openAuthority = () =>
    (cardAuthority ??= import('@careid/cards')
      .then(({ openCardAuthority }) => openCardAuthority({ cards: context.store.cards, people: context.store.people, secrets: context.secrets as AeadSecretBox }))
      // A store that failed mid-way is asked again by the next card, not remembered as failed.
      .catch((error: unknown) => {
        cardAuthority = undefined
        throw error
      }))
  const directory = createDirectory()
  const provider = createProvider({
    store: context.store,
    keys: context.keys,
    directory,
    authenticators: defaultAuthenticators(credentialContext(context.store, context.secrets)),
    config: { ...defaultConfig(settings.issuer), agentOrigin: settings.agentOrigin, agentHandoff: settings.agentHandoff, ...options.overrides },
    node: `${hostname()}:${process.pid}`,
    now: options.now,
    metrics: options.metrics,
    events: context.events,
  })
  const smartcard = smartcardPlugin({
    provider,
    store: cardContext(context.store),
    directory,
    now,
    verifyCard: async (pem, now) => (await openAuthority()).verifyCardCertificate(pem, now),
    unlockVirtualCard: async (card, challenge) => (await openAuthority()).passcodeCheck(card, challenge),
    verifyLockReport: async (card, challenge, signature) => (await openAuthority()).verifyLockReport(card, challenge, signature),
  })
  const webauthn = webAuthnPlugin({
    issuer: provider.config.issuer,
    store: webAuthnContext(context.store),
    trustTestAuthenticators: settings.trustTestAuthenticators,
    metadata: fidoMetadata(settings.fidoMetadata, now()),
  })
  const plugins = [smartcard, webauthn, { authenticators: [], ...defaultEnrolment(credentialContext(context.store, context.secrets)) }, ...(options.extraPlugins ?? []).map((plugin) => plugin({ provider, store: context.store, secrets: context.secrets, now }))]
  for (const plugin of plugins) {
    for (const authenticator of plugin.authenticators) provider.registerAuthenticator(authenticator)
    for (const enroller of plugin.enrollers ?? []) provider.registerEnroller(enroller)
    for (const kind of plugin.credentialKinds ?? []) provider.registerCredentialKind(kind)
  }
  return { provider, plugins }
}

export interface RunningApiNode {
  context: CareidContext
  api: RunningApiPlatform
  stop(): Promise<void>
}

/**
 * A node that serves only the API Platform's OAuth service (`careid start --only api`), on the
 * same store as the provider's nodes: any of them takes any step of a journey.
 */
export async function startApiNode(settings: Settings, options: Pick<StartOptions, 'now'> = {}): Promise<RunningApiNode> {
  const context = await openContext(settings)
  let api: RunningApiPlatform
  try {
    api = await serveApiPlatform(context, options.now ?? Date.now)
  } catch (error) {
    await context.close().catch(() => undefined)
    throw listenError(error, settings.apiPort, settings.host, '--api-port or CAREID_API_PORT')
  }
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      await api.app.close()
      await context.close().catch((error: unknown) => api.app.log.warn({ err_detail: (error as Error).message }, 'store not closed cleanly'))
    })())
  return { context, api, stop }
}

/** Why a listener could not start, as a setting to change rather than a stack trace. */
function listenError(error: unknown, port: number, host: string, setting: string): unknown {
  const code = (error as { code?: unknown }).code
  if (code === 'EADDRINUSE') return new StartupError(`port ${port} on ${host} is already in use: stop what is using it, or choose another port with ${setting}`, { cause: error })
  if (code === 'EACCES') return new StartupError(`not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges): choose another port with ${setting}`, { cause: error })
  return error
}

/** Stops the metrics listener: a scrape in flight is cut short, as Prometheus simply scrapes again. */
function closeMetricsServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve()
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
