/** `careid clients add|list|show|remove`: the registered relying parties. */
import { readFileSync } from 'node:fs'
import { webOriginsOf } from '@careid/oidc'
import type { ClientRecord } from '@careid/ports'
import type { CareidContext } from '../context.ts'
import { adminServices, cliActor, refusalsAsUsage } from './admin.ts'
import { UsageError } from './usage_error.ts'

export interface AddClientFlags {
  name: string
  redirectUri: string[]
  postLogoutRedirectUri?: string[]
  backchannelLogoutUri?: string
  authMethod: string
  jwksUri?: string
  jwks?: string
  signingAlg?: string
  refreshTokens?: boolean
  webOrigin?: string[]
  clientId?: string
  json?: boolean
}

/** --jwks takes a file path or the JSON itself. */
export function readJwks(value: string): unknown {
  let text = value
  if (!value.trim().startsWith('{')) {
    // A mistyped path is a usage mistake: say so (exit 2), not a stack trace.
    try {
      text = readFileSync(value, 'utf8')
    } catch {
      throw new UsageError(`--jwks: cannot read the file ${value}; give a JWKS as JSON, or the path of a file holding one`)
    }
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new UsageError('--jwks must be a JWKS as JSON, or the path of a file holding one')
  }
}

export async function addClient(ctx: CareidContext, flags: AddClientFlags, out: (s: string) => void): Promise<void> {
  const metadata = {
    client_id: flags.clientId,
    client_name: flags.name,
    redirect_uris: flags.redirectUri,
    post_logout_redirect_uris: flags.postLogoutRedirectUri,
    backchannel_logout_uri: flags.backchannelLogoutUri,
    token_endpoint_auth_method: flags.authMethod,
    jwks_uri: flags.jwksUri,
    jwks: flags.jwks === undefined ? undefined : readJwks(flags.jwks),
    token_endpoint_auth_signing_alg: flags.signingAlg,
    refresh_tokens: flags.refreshTokens ?? false,
    web_origins: flags.webOrigin,
  }
  const registered = await refusalsAsUsage(adminServices(ctx).clients.add(metadata, cliActor()))
  if (flags.json === true) {
    out(JSON.stringify({ ...describe(registered.client), client_secret: registered.client_secret }, null, 2))
    return
  }
  out(`Registered ${registered.client.client_name}.`)
  out(`  client_id:     ${registered.client.client_id}`)
  if (registered.client_secret !== undefined) {
    out(`  client_secret: ${registered.client_secret}`)
    out('  Keep the secret now: Careid stores only a hash of it and cannot show it again.')
  }
  out(`  issuer:        ${ctx.settings.issuer}`)
}

/** A client as shown: no secret hash; the web origins in force, listed or from the redirect URIs. */
function describe(c: ClientRecord): Record<string, unknown> {
  const { client_secret_hash: _hidden, ...rest } = c
  return { ...rest, web_origins: webOriginsOf(c), created_at: new Date(c.created_at).toISOString() }
}

export async function listClients(ctx: CareidContext, out: (s: string) => void): Promise<void> {
  const clients = await adminServices(ctx).clients.list()
  if (clients.length === 0) return out('No clients are registered.')
  for (const c of clients) out(`${c.client_id}  ${c.token_endpoint_auth_method.padEnd(19)} ${c.client_name}`)
}

export async function showClient(ctx: CareidContext, clientId: string, out: (s: string) => void): Promise<void> {
  const client = await refusalsAsUsage(adminServices(ctx).clients.get(clientId))
  out(JSON.stringify(describe(client), null, 2))
}

export async function removeClient(ctx: CareidContext, clientId: string, out: (s: string) => void): Promise<void> {
  await refusalsAsUsage(adminServices(ctx).clients.remove(clientId, cliActor()))
  out(`Removed ${clientId}.`)
}
