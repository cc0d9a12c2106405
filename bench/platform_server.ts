/**
 * Child process: Careid as `careid start` runs it, the provider and the API Platform on its own
 * port (its OAuth service, and the gateway in front of the Patient API), no logs, on the embedded
 * SQLite store in a fresh temporary data directory, with the demo workforce and the demo's
 * synthetic population (10,000 patients). For the separate pattern (cis2.md 6.3) it
 * registers one GP system twice, as a supplier would: as a CIS2 client of Careid's provider, and as
 * an application of the platform (`registerApplication`, as `careid apps add` does) with the inline
 * JWKS of the load generator's RS512 key (BENCH_PLATFORM_JWKS), subscribed to the Patient API at
 * AAL3 and AAL2. The gateway's per-application rate limit is raised far above the load.
 *
 * Its ready line carries the CIS2 client's credentials and one authenticator-app code of the
 * worker, read from the store as the worker's phone would show it, so the generator can sign in
 * once at AAL2 through the provider's pages (a password sign-in is AAL1, which the platform's scope
 * filter leaves nothing for). Pinned to one core by the parent; SIGTERM drains it and removes its
 * data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerApplication } from '@careid/apim'
import { currentTotpCode } from '@careid/authenticators'
import { registerClient } from '@careid/oidc'
import { resolveSettings } from '../packages/cli/src/settings.ts'
import { startCareid } from '../packages/cli/src/start.ts'
import { announceReady } from './target.ts'
import type { PlatformReady } from './platform_target.ts'

const env = process.env
const redirectUri = env.BENCH_REDIRECT_URI as string
const username = env.BENCH_USERNAME as string

const dataDir = mkdtempSync(join(tmpdir(), 'careid-bench-platform-'))
const settings = resolveSettings({
  port: env.BENCH_PORT,
  host: '127.0.0.1',
  dataDir,
  issuer: env.BENCH_ISSUER,
  logLevel: 'silent',
  demo: true,
  apiPort: env.BENCH_PLATFORM_PORT,
  // The load calls the Patient API as one application, far faster than the platform's default of
  // 5 requests per second per application allows.
  apiRateLimit: '1000000',
  signInRateLimit: '1000000',
  tokenRateLimit: '1000000',
})
const running = await startCareid(settings)
const { store, secrets } = running.context

if (running.api === undefined) throw new Error('the API Platform did not start')
const platformBase = running.api.baseUrl
const tokenUrl = `${platformBase}/oauth2/token`

process.once('SIGTERM', () => {
  void running.stop().finally(() => {
    rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  })
})

const name = 'Benchmark GP system'
const { client, client_secret } = registerClient(
  { client_name: name, redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_post', refresh_tokens: false },
  Date.now(),
)
await store.clients.put(client)
const credentials = { client_id: client.client_id, client_secret: client_secret as string }

const { application } = registerApplication(
  {
    name,
    callback_urls: [redirectUri],
    jwks: JSON.parse(env.BENCH_PLATFORM_JWKS as string) as unknown,
    scopes: ['urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service', 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'],
  },
  Date.now(),
)
await store.apps.put(application)

const person = (await store.people.getByUsername(username)) as { uid: string } | undefined
const app = person === undefined ? undefined : (await store.credentials.listByPerson(person.uid)).find((c) => c.kind === 'totp')
if (app === undefined) throw new Error(`${username} has no authenticator app`)

const ready: PlatformReady = {
  issuer: settings.issuer,
  clients: { jwt: credentials, userinfo: credentials },
  // The Patient API needs an AAL2 or AAL3 sign-in; the role is asked for, so the ID token names it.
  authorizeParams: { acr_values: 'AAL2_TOTP', scope: 'openid profile nationalrbacaccess selectedrole' },
  argon2: 'not used',
  platform: {
    apiKey: application.api_key,
    tokenUrl,
    patientApi: `${platformBase}/personal-demographics/FHIR/R4`,
    totpCode: currentTotpCode(secrets.open(app.secret), Date.now()),
  },
}
announceReady(ready)
