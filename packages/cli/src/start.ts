/**
 * `careid start`: one Careid node, on the embedded SQLite store or, scaled out, on PostgreSQL (with
 * Redis for the short-lived data if given) shared with other nodes; with the demo workforce and the
 * demo relying party unless told otherwise. `stop` (on SIGTERM or SIGINT) drains: the server stops
 * accepting, finishes requests in flight, stops background work and releases its outbox claims,
 * then closes the store's connections.
 */
import { hostname } from 'node:os'
import { defaultAuthenticators } from '@careid/authenticators'
import { createDirectory } from '@careid/domain'
import { buildServer, createMetrics, createPageRenderer } from '@careid/http'
import { openCardAuthority } from '@careid/cards'
import { createProvider, defaultConfig, type AeadSecretBox, type ProviderConfig } from '@careid/oidc'
import type { FastifyInstance } from 'fastify'
import { openContext, type CareidContext } from './context.ts'
import { demoRelyingParty } from './demo_rp.ts'
import { seedDemoClient, seedDemoWorkforce, type DemoClient } from './seed.ts'
import type { Settings } from './settings.ts'

export interface RunningCareid {
  app: FastifyInstance
  context: CareidContext
  /** The demo relying party's registration; absent when started without the demo. */
  demo: DemoClient | undefined
  provider: ReturnType<typeof createProvider>
  stop(): Promise<void>
}

export async function startCareid(settings: Settings, overrides: Partial<ProviderConfig> = {}): Promise<RunningCareid> {
  const context = await openContext(settings)
  try {
    return await serve(settings, context, overrides)
  } catch (error) {
    // A node that cannot listen (port taken) must not leave pools and subscriptions open.
    await context.close().catch(() => undefined)
    throw error
  }
}

async function serve(settings: Settings, context: CareidContext, overrides: Partial<ProviderConfig>): Promise<RunningCareid> {
  let demo: DemoClient | undefined
  if (settings.demo) {
    await seedDemoWorkforce(context)
    demo = await seedDemoClient(context)
  }
  const metrics = createMetrics()
  // The card authority is made on first start (its key sealed like the signing keys); every node loads the same one.
  const cardAuthority = await openCardAuthority({ cards: context.store.cards, people: context.store.people, secrets: context.secrets as AeadSecretBox })
  const provider = createProvider({
    store: context.store,
    keys: context.keys,
    secrets: context.secrets,
    directory: createDirectory(),
    authenticators: defaultAuthenticators(),
    config: { ...defaultConfig(settings.issuer), agentOrigin: settings.agentOrigin, ...overrides },
    node: `${hostname()}:${process.pid}`,
    metrics: metrics.logout,
    events: context.events,
    smartcard: { verifyCard: (pem, now) => cardAuthority.verifyCardCertificate(pem, now) },
  })
  const app = await buildServer({ provider, metrics, ready: () => context.store.ping(), logLevel: settings.logLevel })
  if (demo !== undefined) {
    await app.register(demoRelyingParty, {
      provider,
      client: demo,
      baseUrl: settings.baseUrl,
      render: createPageRenderer('/assets'),
      secure: settings.baseUrl.startsWith('https:'),
    })
  }
  await app.listen({ port: settings.port, host: settings.host })
  provider.startBackground()

  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      // No new connections; requests in flight finish first (Fastify's close waits for them).
      await app.close()
      // Then the loops; the last step releases this node's outbox claims. If the store is down that
      // fails, and the claims simply lapse at the end of their lease: shutdown goes on regardless.
      await provider.stopBackground().catch((error: unknown) => app.log.warn({ err_detail: (error as Error).message }, 'outbox claims not released'))
      await context.close().catch((error: unknown) => app.log.warn({ err_detail: (error as Error).message }, 'store not closed cleanly'))
    })())
  return { app, context, demo, provider, stop }
}
