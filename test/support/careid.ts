/** A Careid instance for a test: its own data directory and port, the demo data, no logs. */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { currentTotpCode } from '@careid/authenticators'
import { createKeyService, registerClient, type ClientMetadata, type ProviderConfig } from '@careid/oidc'
import type { AeadSecretBox } from '@careid/ports'
import { keyPublishLeadMs, keyRetainMs } from '../../packages/cli/src/context.ts'
import type { DemoClient } from '../../packages/cli/src/seed.ts'
import { resolveSettings, type SettingsInput } from '../../packages/cli/src/settings.ts'
import { startCareid, type CareidPlugin, type RunningCareid } from '../../packages/cli/src/start.ts'
import { freePort } from './free_port.ts'

/** Tests that start servers of their own beside a Careid take their ports from here too. */
export { freePort }

export interface TestCareid extends RunningCareid {
  /** A test instance always runs with the demo. */
  demo: DemoClient
  origin: string
  /** The API Platform's OAuth service, on its own port. */
  apiOrigin: string
  issuer: string
  dataDir: string
  /** Registers a client straight in the store; returns its secret if it has one. */
  addClient(metadata: Omit<ClientMetadata, 'client_name'> & { client_name?: string }): Promise<{ client_id: string; client_secret?: string | undefined }>
  /** The current authenticator-app code of a person. */
  totp(uid: string, atMs?: number): Promise<string>
  /** What /metrics shows now, read as a scraper configured for this instance would. */
  metrics(): Promise<string>
  close(): Promise<void>
}

export async function startTestCareid(
  options: {
    issuer?: (origin: string) => string
    config?: Partial<ProviderConfig>
    /** By default /metrics is served on the main port behind a random token, which `metrics()` sends. */
    settings?: Pick<SettingsInput, 'signInRateLimit' | 'tokenRateLimit' | 'metricsPort' | 'metricsHost' | 'metricsToken' | 'only' | 'apiEnvironment' | 'apiRateLimit' | 'trustTestAuthenticators' | 'fidoMetadata'>
    /** A test may prepare the data directory first (e.g. a card authority made in the past). */
    dataDir?: string
    /** The provider's clock, for a test that moves time on instead of waiting. */
    now?: () => number
    /** Environment settings, e.g. DATABASE_URL and REDIS_URL for a node of a scaled-out deployment. */
    env?: NodeJS.ProcessEnv
    /** Authenticator plugins offered after the built-in ones. */
    plugins?: readonly CareidPlugin[]
  } = {},
): Promise<TestCareid> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'careid-test-'))
  const port = await freePort()
  const apiPort = await freePort()
  const origin = `http://localhost:${port}`
  const settings = resolveSettings(
    { port: String(port), apiPort: String(apiPort), host: 'localhost', dataDir, issuer: options.issuer?.(origin), logLevel: 'silent', metricsToken: randomBytes(32).toString('hex'), ...options.settings },
    { CAREID_KEY_ENCRYPTION_KEY: undefined, ...options.env },
  )
  // A small synthetic population: no test of a whole Careid reads the patients yet, and seeding the
  // demo's full 10,000 at every test instance's start would cost each of them about half a second.
  const running = await startCareid(settings, { logoutRetryBaseMs: 50, ...options.config }, { now: options.now, plugins: options.plugins, demoPopulation: { size: 100 } })
  const demo = running.demo
  if (demo === undefined) throw new Error('the demo was not seeded')
  return {
    ...running,
    demo,
    origin,
    apiOrigin: settings.apiBaseUrl,
    issuer: settings.issuer,
    dataDir,
    async addClient(metadata) {
      const { client, client_secret } = registerClient({ client_name: 'Test app', ...metadata }, Date.now())
      await running.context.store.clients.put(client)
      running.provider.clients.invalidate(client.client_id)
      return { client_id: client.client_id, client_secret }
    },
    async totp(uid, atMs = Date.now()) {
      const credential = (await running.context.store.credentials.listByPerson(uid)).find((c) => c.kind === 'totp')
      if (credential === undefined) throw new Error(`${uid} has no authenticator app`)
      return currentTotpCode(running.context.secrets.open(credential.secret), atMs)
    },
    async metrics() {
      const where = settings.metricsPort === undefined ? origin : `http://${settings.metricsHost}:${settings.metricsPort}`
      const response = await fetch(`${where}/metrics`, { headers: settings.metricsToken === undefined ? {} : { authorization: `Bearer ${settings.metricsToken}` } })
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
      return response.text()
    },
    async close() {
      await running.stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Lets a rotated key start signing without waiting out the publish lead (10 minutes): another
 * Careid node, whose clock runs `aheadMs` ahead, ticks the shared key store (activating every
 * waiting key that is due by its clock), then this instance (or admin context) reloads, as it
 * would on its own next tick. Only the key store's schedule is involved: nothing else sees the
 * other clock. Returns the kids activated.
 */
export async function activateWaitingKeys(careid: Pick<RunningCareid, 'context'>, aheadMs = keyPublishLeadMs + 1_000): Promise<string[]> {
  const otherNode = await createKeyService({
    store: careid.context.store.keys,
    // openContext built it as an AEAD box; the context's type only promises the narrower interface.
    secrets: careid.context.secrets as AeadSecretBox,
    now: () => Date.now() + aheadMs,
    publishLeadMs: keyPublishLeadMs,
    retainAfterRetireMs: keyRetainMs,
  })
  const { activated } = await otherNode.tick()
  await careid.context.keys.reload()
  return activated
}
