/**
 * The demo data a fresh Careid starts with: the demo workforce with their passwords and
 * authenticator-app (TOTP) secrets, the demo relying party, and the synthetic patient population.
 * Run at every start; it only adds what is missing, and keeps the demo client's URIs pointing at
 * where this server now listens.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { passwordEnrolment, totpEnrolment } from '@careid/authenticators'
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { registerClient } from '@careid/oidc'
import { generatePopulation, type PopulationOptions } from '@careid/pds'
import type { Json, PatientStore } from '@careid/ports'
import type { CareidContext } from './context.ts'

export interface DemoClient {
  client_id: string
  client_secret: string
}

export const demoClientId = '100000000001.apps.national'

export async function seedDemoWorkforce(ctx: CareidContext): Promise<number> {
  let added = 0
  const now = Date.now()
  const passwords = passwordEnrolment(ctx.store)
  const apps = totpEnrolment({ credentials: ctx.store.credentials, secrets: ctx.secrets })
  for (const person of demoWorkforce) {
    if ((await ctx.store.people.get(person.uid)) !== undefined) continue
    await ctx.store.people.put(person.uid, person.username, person as unknown as Json)
    const credentials = demoCredentials[person.uid]
    if (credentials !== undefined) await passwords.register(person.uid, { password: credentials.password }, now)
    await apps.register(person.uid, { label: person.username }, now)
    added++
  }
  return added
}

/** Registers (or re-points) the demo relying party served at `${baseUrl}/demo`. */
export async function seedDemoClient(ctx: CareidContext): Promise<DemoClient> {
  const file = join(ctx.settings.dataDir, 'demo-client.json')
  const base = `${ctx.settings.baseUrl}/demo`
  const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoClient) : undefined
  const stored = await ctx.store.clients.get(demoClientId)
  const metadata = {
    client_id: demoClientId,
    client_name: 'Demo clinical app',
    redirect_uris: [`${base}/callback`],
    post_logout_redirect_uris: [`${base}/`],
    backchannel_logout_uri: `${base}/backchannel-logout`,
    token_endpoint_auth_method: 'client_secret_post',
    refresh_tokens: true,
  }
  const { client, client_secret } = registerClient(metadata, stored?.created_at ?? Date.now())
  if (existing !== undefined && stored?.client_secret_hash !== undefined) {
    // Keep the secret the demo relying party already has; only the URIs follow the server.
    await ctx.store.clients.put({ ...client, client_secret_hash: stored.client_secret_hash })
    return existing
  }
  await ctx.store.clients.put(client)
  const demo = { client_id: demoClientId, client_secret: client_secret as string }
  writeFileSync(file, JSON.stringify(demo), { mode: 0o600 })
  return demo
}

/**
 * Stores the synthetic population (`@careid/pds`) when no patient is stored yet, and returns how
 * many patients it added: the whole population the first time, 0 ever after, so a later start
 * costs one count. Nodes starting together on one database may both find it empty: `putMany` is
 * one transaction that refuses NHS numbers already stored, so one stores them all and the other,
 * finding them there, adds none.
 */
export async function seedDemoPopulation(patients: PatientStore, options: PopulationOptions = {}): Promise<number> {
  if ((await patients.count()) > 0) return 0
  const { records } = generatePopulation(options)
  try {
    await patients.putMany(records)
  } catch (error) {
    if ((await patients.count()) > 0) return 0
    throw error
  }
  return records.length
}
