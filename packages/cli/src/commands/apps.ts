/** `careid apps add|list|show|remove`: applications registered with the API Platform. */
import type { ApplicationRecord } from '@careid/ports'
import type { CareidContext } from '../context.ts'
import { adminServices, cliActor, refusalsAsUsage } from './admin.ts'
import { readJwks } from './clients.ts'

export interface AddAppFlags {
  name: string
  callbackUrl: string[]
  product: string[]
  jwksUri?: string
  jwks?: string
  json?: boolean
}

/** An application as shown: never the secret's hash. */
function describe(application: ApplicationRecord): Record<string, unknown> {
  const { secret_hash: _hidden, ...rest } = application
  return { ...rest, created_at: new Date(application.created_at).toISOString() }
}

export async function addApp(ctx: CareidContext, flags: AddAppFlags, out: (s: string) => void): Promise<void> {
  const registration = {
    name: flags.name,
    callback_urls: flags.callbackUrl,
    jwks_uri: flags.jwksUri,
    jwks: flags.jwks === undefined ? undefined : readJwks(flags.jwks),
    scopes: flags.product,
  }
  const { application, secret } = await refusalsAsUsage(adminServices(ctx).apps.add(registration, cliActor()))
  if (flags.json === true) {
    out(JSON.stringify({ ...describe(application), secret }, null, 2))
    return
  }
  out(`Registered ${application.name} with the API Platform.`)
  out(`  API key (client_id): ${application.api_key}`)
  out(`  secret:              ${secret}`)
  out('  Keep the secret now: Careid stores only a hash of it and cannot show it again.')
  for (const subscription of application.subscriptions) out(`  ${subscription.product}: ${subscription.scopes.join(' ')}`)
}

export async function listApps(ctx: CareidContext, out: (s: string) => void): Promise<void> {
  const applications = await adminServices(ctx).apps.list()
  if (applications.length === 0) return out('No applications are registered.')
  for (const application of applications) {
    out(`${application.api_key}  ${application.subscriptions.map((s) => s.product).join(',').padEnd(30)} ${application.name}`)
  }
}

export async function showApp(ctx: CareidContext, apiKey: string, out: (s: string) => void): Promise<void> {
  const application = await refusalsAsUsage(adminServices(ctx).apps.get(apiKey))
  out(JSON.stringify(describe(application), null, 2))
}

export async function removeApp(ctx: CareidContext, apiKey: string, out: (s: string) => void): Promise<void> {
  await refusalsAsUsage(adminServices(ctx).apps.remove(apiKey, cliActor()))
  out(`Removed ${apiKey}.`)
}
