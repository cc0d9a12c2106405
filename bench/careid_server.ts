/**
 * Child process: Careid as `careid start` runs it (embedded SQLite store in a fresh temporary data
 * directory, demo workforce, no logs), plus one confidential benchmark client. Pinned to one core
 * by the parent; prints its details once listening; SIGTERM drains it and removes the data.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerClient } from '@careid/oidc'
import { resolveSettings } from '../packages/cli/src/settings.ts'
import { startCareid } from '../packages/cli/src/start.ts'
import { announceReady } from './processes.ts'
import type { ServerReady } from './target.ts'

const port = process.env.BENCH_PORT as string
const redirectUri = process.env.BENCH_REDIRECT_URI as string
const username = process.env.BENCH_USERNAME as string

const dataDir = mkdtempSync(join(tmpdir(), 'careid-bench-'))
const settings = resolveSettings({ port, host: '127.0.0.1', dataDir, logLevel: 'silent' }, { CAREID_KEY_ENCRYPTION_KEY: undefined })
const running = await startCareid(settings)
const { store } = running.context

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

process.once('SIGTERM', () => {
  void running.stop().finally(() => {
    rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  })
})
