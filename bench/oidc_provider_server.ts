/**
 * Child process: oidc-provider set up like Careid for the benchmark. Same issuer shape (the CIS2
 * realm path) and endpoint paths, RS256 with a 2048-bit key, PKCE S256 required, client_secret_post,
 * scopes openid and profile, an ID token and an RS256 JWT access token per token response (resource
 * indicators), no refresh tokens, and a minimal username-and-password interaction that verifies
 * with Careid's own argon2id helpers (same library, same parameters). No consent step, as Careid has
 * none: the grant is made when the person first signs in.
 *
 * Storage is oidc-provider's in-memory adapter: nothing durable. Its stock instance is an LRU of
 * 1,000 entries, which would evict the pool of codes minted before the token benchmark; the same
 * adapter class runs here over a larger LRU of the same kind.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import Provider, { type Account, type KoaContextWithOIDC } from 'oidc-provider'
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js'
import LRU from 'oidc-provider/lib/helpers/lru.js'
import { hashPassword, verifyPassword } from '../packages/authenticators/src/password/hash.ts'
import { announceReady, type ClientCredentials, type ServerReady } from './target.ts'

interface BenchAccount {
  uid: string
  username: string
  password: string
  given_name: string
  family_name: string
}

const port = Number(process.env.BENCH_PORT)
const issuer = process.env.BENCH_ISSUER as string
const redirectUri = process.env.BENCH_REDIRECT_URI as string
const person = JSON.parse(process.env.BENCH_ACCOUNT as string) as BenchAccount
const base = new URL(issuer).pathname

/** The resource server the JWT access tokens are for; oidc-provider issues JWTs only to one. */
const resource = 'https://api.bench.careid.test'
const scope = 'openid profile'

const accounts = new Map([[person.username, { uid: person.uid, hash: await hashPassword(person.password) }]])

function findAccount(_ctx: KoaContextWithOIDC, id: string): Account | undefined {
  if (id !== person.uid) return undefined
  return {
    accountId: id,
    claims: () => ({ sub: id, uid: id, name: `${person.given_name} ${person.family_name}`, given_name: person.given_name, family_name: person.family_name }),
  }
}

const jwtClient: ClientCredentials = { client_id: 'bench-jwt', client_secret: randomBytes(32).toString('base64url') }
const userinfoClient: ClientCredentials = { client_id: 'bench-userinfo', client_secret: randomBytes(32).toString('base64url') }
const clientMetadata = (c: ClientCredentials) => ({
  ...c,
  redirect_uris: [redirectUri],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_post',
  id_token_signed_response_alg: 'RS256',
})

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(16).toString('base64url'), alg: 'RS256', use: 'sig' }

const storage = new LRU({ maxSize: 100_000 })
const clockTolerance = 15

const provider = new Provider(issuer, {
  adapter: (model: string) => new MemoryAdapter(model, storage, clockTolerance),
  clockTolerance,
  clients: [clientMetadata(jwtClient), clientMetadata(userinfoClient)],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], profile: ['uid', 'name', 'given_name', 'family_name'] },
  responseTypes: ['code'],
  pkce: { required: () => true },
  findAccount,
  routes: {
    authorization: '/authorize',
    token: '/access_token',
    userinfo: '/userinfo',
    jwks: '/connect/jwk_uri',
    end_session: '/connect/endSession',
    revocation: '/token/revoke',
    introspection: '/introspect',
  },
  ttl: { AccessToken: 3599, AuthorizationCode: 60, IdToken: 300, Interaction: 1800, Session: 12 * 3600, Grant: 12 * 3600 },
  issueRefreshToken: () => false,
  interactions: { url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `${base}/interaction/${interaction.uid}` },
  async loadExistingGrant(ctx: KoaContextWithOIDC) {
    const { client, session } = ctx.oidc
    if (client === undefined || session?.accountId === undefined) return undefined
    const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId)
    const existing = grantId === undefined ? undefined : await ctx.oidc.provider.Grant.find(grantId)
    if (existing !== undefined) return existing
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId })
    grant.addOIDCScope(scope)
    grant.addResourceScope(resource, scope)
    await grant.save()
    return grant
  },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      // The userinfo endpoint refuses tokens with an audience, so that client gets opaque ones.
      defaultResource: (_ctx: KoaContextWithOIDC, client: { clientId: string }) => (client.clientId === jwtClient.client_id ? resource : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope, audience: resource, accessTokenTTL: 3599, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
    },
  },
})
provider.on('server_error', (_ctx, error) => console.error('server_error', error))

const loginPage = (uid: string) =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body><h1>Sign in</h1>` +
  `<form method="post" action="${base}/interaction/${encodeURIComponent(uid)}/login">` +
  `<label>Username <input name="username" autocomplete="username"></label>` +
  `<label>Password <input type="password" name="password" autocomplete="current-password"></label>` +
  `<button type="submit">Sign in</button></form></body></html>`

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = ''
  for await (const chunk of req) {
    body += String(chunk)
    if (body.length > 64 * 1024) throw new Error('body too large')
  }
  return new URLSearchParams(body)
}

async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res)
  // The grant is made at sign-in (loadExistingGrant), so login is the only prompt there can be.
  if (details.prompt.name !== 'login') throw new Error(`unexpected prompt ${details.prompt.name}`)
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(loginPage(details.uid))
    return
  }
  const form = await readForm(req)
  const account = accounts.get(form.get('username') ?? '')
  if (account === undefined || !(await verifyPassword(account.hash, form.get('password') ?? ''))) {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(details.uid))
    return
  }
  await provider.interactionFinished(req, res, { login: { accountId: account.uid } }, { mergeWithLastSubmission: false })
}

const handle = provider.callback()
const server = createServer((req, res) => {
  const url = req.url ?? '/'
  if (url.startsWith(`${base}/interaction/`)) {
    interaction(req, res).catch((error: unknown) => {
      console.error('interaction', error)
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  } else if (url.startsWith(`${base}/`)) {
    // oidc-provider routes below its mount point, and finds that mount point (for the URLs and
    // cookie paths it makes) as the part of originalUrl before its own url, as behind Express.
    Object.assign(req, { originalUrl: url })
    req.url = url.slice(base.length)
    handle(req, res)
  } else {
    res.writeHead(404).end()
  }
})
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))

const ready: ServerReady = {
  issuer,
  clients: { jwt: jwtClient, userinfo: userinfoClient },
  authorizeParams: {},
  argon2: /\$(m=\d+,t=\d+,p=\d+)\$/.exec(accounts.get(person.username)?.hash ?? '')?.[1] ?? 'none',
}
announceReady(ready)

process.once('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
