/**
 * A single-page application for browser tests, served from its own loopback port (so its origin
 * differs from Careid's): oidc-client-ts's browser build, as a file, and a small script that the
 * test drives through `window.careidSpa`: sign in (authorization code with PKCE), finish the
 * sign-in on the callback page, call userinfo, refresh (signinSilent with the refresh token), and
 * probe the endpoints as a page of an unregistered origin would.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'

export interface SpaConfig {
  /** The issuer. */
  authority: string
  client_id: string
  redirect_uri: string
  acr_values: string
}

export interface Spa {
  origin: string
  /** The client the page signs in as (read by the page at load). */
  configure(config: SpaConfig): void
  close(): Promise<void>
}

const oidcClientBuild = join(dirname(createRequire(import.meta.url).resolve('oidc-client-ts/package.json')), 'dist', 'browser', 'oidc-client-ts.min.js')

const page = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Rota</title><link rel="icon" href="data:,">
<script src="/oidc-client-ts.js"></script>
<script src="/config.js"></script>
<script src="/app.js"></script>
</head>
<body><h1>Rota</h1></body>
</html>
`

/** The application's script. Each function answers plain JSON for the test to check. */
const app = `
const config = window.careidSpaConfig
const manager = new oidc.UserManager({
  authority: config.authority,
  client_id: config.client_id,
  redirect_uri: config.redirect_uri,
  response_type: 'code',
  scope: 'openid profile',
  extraQueryParams: { acr_values: config.acr_values },
  automaticSilentRenew: false,
  // Keep acr and amr in the profile (oidc-client-ts drops them by default).
  filterProtocolClaims: false,
  userStore: new oidc.WebStorageStateStore({ store: window.localStorage }),
})

function summary(user) {
  return { sub: user.profile.sub, acr: user.profile.acr, access_token: user.access_token, refresh: typeof user.refresh_token === 'string' }
}

async function readOrBlocked(request) {
  try {
    const response = await request()
    return 'read ' + response.status
  } catch {
    return 'blocked'
  }
}

window.careidSpa = {
  signIn: () => manager.signinRedirect(),
  callback: async () => summary(await manager.signinRedirectCallback()),
  userinfo: async () => {
    const user = await manager.getUser()
    const metadata = await manager.metadataService.getMetadata()
    const response = await fetch(metadata.userinfo_endpoint, { headers: { Authorization: 'Bearer ' + user.access_token } })
    return { status: response.status, body: await response.json() }
  },
  refresh: async () => summary(await manager.signinSilent()),
  probe: async (accessToken) => {
    const discovery = await fetch(config.authority + '/.well-known/openid-configuration')
    const metadata = await discovery.json()
    return {
      discovery: 'read ' + discovery.status,
      token: await readOrBlocked(() => fetch(metadata.token_endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'unknown', client_id: config.client_id }),
      })),
      userinfo: await readOrBlocked(() => fetch(metadata.userinfo_endpoint, { headers: { Authorization: 'Bearer ' + accessToken } })),
    }
  },
}
`

export async function startSpa(): Promise<Spa> {
  let config: SpaConfig | undefined
  const files: Record<string, { type: string; body: () => string }> = {
    '/index.html': { type: 'text/html', body: () => page },
    '/callback.html': { type: 'text/html', body: () => page },
    '/oidc-client-ts.js': { type: 'text/javascript', body: () => readFileSync(oidcClientBuild, 'utf8') },
    '/config.js': { type: 'text/javascript', body: () => `window.careidSpaConfig = ${JSON.stringify(config ?? null)}\n` },
    '/app.js': { type: 'text/javascript', body: () => app },
  }
  const server: Server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://spa').pathname]
    if (file === undefined) {
      res.statusCode = 404
      res.end()
      return
    }
    res.setHeader('content-type', `${file.type}; charset=utf-8`)
    res.setHeader('cache-control', 'no-store')
    res.end(file.body())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    configure(next) {
      config = next
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
