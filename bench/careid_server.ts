/**
 * Child process: Careid as `careid start` runs it, no logs, on the embedded SQLite store in a fresh
 * temporary data directory, or, scaled out, as one node on PostgreSQL + Redis (BENCH_DATABASE_URL,
 * BENCH_REDIS_URL, BENCH_DATABASE_SCHEMA, BENCH_KEY_ENCRYPTION_KEY: what every node shares). The
 * first node seeds the demo workforce and registers one confidential benchmark client; a further
 * node (BENCH_NODE=further) starts as production nodes do, with `--no-demo`, and serves the same
 * issuer from the shared store. Pinned to one core by the parent; prints its details once
 * listening; SIGTERM drains it and removes its data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerClient } from '@careid/oidc'
import { resolveSettings } from '../packages/cli/src/settings.ts'
import { startCareid } from '../packages/cli/src/start.ts'
import { announceReady, type ServerReady } from './target.ts'

const env = process.env
const port = env.BENCH_PORT as string
const redirectUri = env.BENCH_REDIRECT_URI as string
const username = env.BENCH_USERNAME as string
const further = env.BENCH_NODE === 'further'

const dataDir = mkdtempSync(join(tmpdir(), 'careid-bench-'))
const settings = resolveSettings(
  {
    port,
    host: '127.0.0.1',
    dataDir,
    issuer: env.BENCH_ISSUER,
    logLevel: 'silent',
    databaseUrl: env.BENCH_DATABASE_URL,
    redisUrl: env.BENCH_REDIS_URL,
    databaseSchema: env.BENCH_DATABASE_SCHEMA,
    demo: !further,
    // The provider, as measured against oidc-provider; the API Platform is measured apart (platform.ts).
    only: 'provider',
    // The load signs in one person from one address, and redeems one client's codes, far faster
    // than the limits allow a person or a relying party.
    signInRateLimit: '1000000',
    tokenRateLimit: '1000000',
  },
  { CAREID_KEY_ENCRYPTION_KEY: env.BENCH_KEY_ENCRYPTION_KEY },
)
const running = await startCareid(settings)
const { store } = running.context

process.once('SIGTERM', () => {
  void running.stop().finally(() => {
    rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  })
})

if (further) {
  // The first node registered the client and seeded the person; this one serves them from the store.
  announceReady({ issuer: settings.issuer })
} else {
  const { client, client_secret } = registerClient(
    { client_name: 'Benchmark app', redirect_uris: [redirectUri], token_endpoint_auth_method: 'client_secret_post', refresh_tokens: false },
    Date.now(),
  )
  await store.clients.put(client)
  const credentials = { client_id: client.client_id, client_secret: client_secret as string }

  // The parameters the person's password hash was made with, so the parent can show both sides hash alike.
  const person = (await store.people.getByUsername(username)) as { uid: string } | undefined
  const password = person === undefined ? undefined : (await store.credentials.listByPerson(person.uid)).find((c) => c.kind === 'password')

  const ready: ServerReady = {
    issuer: settings.issuer,
    // Careid issues one kind of access token (a JWT), which its userinfo accepts.
    clients: { jwt: credentials, userinfo: credentials },
    // Careid offers a sign-in only for the assurance asked for; a password meets AAL1_USERPASS.
    authorizeParams: { acr_values: 'AAL1_USERPASS' },
    argon2: /\$(m=\d+,t=\d+,p=\d+)\$/.exec(password?.secret ?? '')?.[1] ?? 'none',
  }
  announceReady(ready)
}
