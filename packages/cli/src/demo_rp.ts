/**
 * The demo relying party ("Demo clinical app") served at /demo, so a new user can try the whole
 * journey in a browser straight after `npm start`. It is an ordinary client of Careid: it finds the
 * provider by discovery and signs in with openid-client (PKCE, state, nonce, ID token checks),
 * calls userinfo, signs out through end session, and receives back-channel logout tokens.
 * Its own sessions live in memory: it is a demonstration, not a template for production storage.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import * as oidc from 'openid-client'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { backchannelLogoutEvent, type Provider } from '@careid/oidc'
import type { PageRenderer } from '@careid/http'
import type { DemoClient } from './seed.ts'

interface DemoSession {
  pending?: { verifier: string; state: string; nonce: string }
  signedIn?: { idToken: string; claims: Record<string, unknown>; userinfo: Record<string, unknown> }
  message?: { kind: 'problem' | 'notice'; text: string }
}

const cookieName = 'careid_demo'
const acrChoices = [
  { value: 'AAL2_OR_AAL3_ANY', label: 'AAL2 or AAL3: any authenticator at AAL2 or above (authenticator app, smartcard, security key, Windows Hello, passkey, mobile app)' },
  { value: 'AAL2_TOTP', label: 'AAL2_TOTP: the authenticator app' },
  { value: 'AAL1_USERPASS', label: 'AAL1_USERPASS: username and password' },
  { value: 'AAL3_ANY', label: 'AAL3_ANY: the CIS2 default (smartcard, security key, Windows Hello, an attested passkey or the mobile app)' },
  { value: 'AAL3_FIDO2', label: 'AAL3_FIDO2: a security key or Windows Hello' },
  { value: 'AAL2_PASSKEY', label: 'AAL2_PASSKEY: a passkey, synced ones included' },
  { value: 'AAL3_IOS', label: 'AAL3_IOS: the mobile app on a registered tablet or phone' },
]
const scopeChoices = [
  { value: 'profile', label: 'profile', checked: true },
  { value: 'email', label: 'email', checked: true },
  { value: 'nhsperson', label: 'nhsperson', checked: true },
  { value: 'nationalrbacaccess', label: 'nationalrbacaccess', checked: true },
  { value: 'associatedorgs', label: 'associatedorgs', checked: true },
  { value: 'selectedrole', label: 'selectedrole (choose a role)', checked: true },
  { value: 'professionalmemberships', label: 'professionalmemberships', checked: false },
  { value: 'organisationalmemberships', label: 'organisationalmemberships', checked: false },
]

export async function demoRelyingParty(app: FastifyInstance, options: { provider: Provider; client: DemoClient; baseUrl: string; render: PageRenderer; secure: boolean }): Promise<void> {
  const { provider, client, render } = options
  const base = `${options.baseUrl}/demo`
  const sessions = new Map<string, DemoSession>()
  const issuer = provider.config.issuer
  let config: oidc.Configuration | undefined
  const jwks = createRemoteJWKSet(new URL(provider.endpoints.jwks))

  async function configuration(): Promise<oidc.Configuration> {
    config ??= await oidc.discovery(new URL(issuer), client.client_id, undefined, oidc.ClientSecretPost(client.client_secret), {
      execute: issuer.startsWith('http:') ? [oidc.allowInsecureRequests] : [],
    })
    return config
  }

  function session(request: FastifyRequest, reply: FastifyReply): DemoSession {
    let id = request.cookies[cookieName]
    let s = id === undefined ? undefined : sessions.get(id)
    if (id === undefined || s === undefined) {
      id = randomBytes(24).toString('base64url')
      s = {}
      sessions.set(id, s)
      reply.setCookie(cookieName, id, { path: '/demo', httpOnly: true, sameSite: 'lax', secure: options.secure })
    }
    return s
  }

  app.get('/demo', (_request, reply) => reply.redirect('/demo/', 302))
  app.get('/demo/', (request, reply) => {
    const s = session(request, reply)
    if (s.signedIn !== undefined) return reply.redirect('/demo/signed-in', 302)
    const message = s.message
    delete s.message
    return render(reply, {
      page: 'demo_home',
      action: '/demo/login',
      acr_options: acrChoices.map((c, i) => ({ ...c, selected: i === 0 })),
      scope_options: scopeChoices,
      issuer,
      client_id: client.client_id,
      message,
    })
  })

  app.get('/demo/login', async (request, reply) => {
    const s = session(request, reply)
    const q = request.query as Record<string, string | string[] | undefined>
    const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v])
    const scopes = ['openid', ...list(q.scope).filter((v) => scopeChoices.some((c) => c.value === v))]
    const acr = list(q.acr_values).find((v) => acrChoices.some((c) => c.value === v)) ?? 'AAL2_OR_AAL3_ANY'
    const pending = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() }
    s.pending = pending
    const params: Record<string, string> = {
      redirect_uri: `${base}/callback`,
      scope: scopes.join(' '),
      acr_values: acr,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
    }
    if (list(q.prompt).includes('login') || list(q.scope).includes('changedrole')) params.prompt = 'login'
    return reply.redirect(oidc.buildAuthorizationUrl(await configuration(), params).href, 302)
  })

  app.get('/demo/change-role', async (request, reply) => {
    session(request, reply)
    return reply.redirect('/demo/login?scope=profile&scope=nationalrbacaccess&scope=selectedrole&scope=changedrole&acr_values=AAL2_OR_AAL3_ANY', 302)
  })

  app.get('/demo/callback', async (request, reply) => {
    const s = session(request, reply)
    const pending = s.pending
    delete s.pending
    const query = request.query as Record<string, string>
    if (pending === undefined || query.error !== undefined) {
      const text = query.error === undefined ? 'That sign-in had already finished. Start again.' : `Careid answered: ${query.error}${query.error_description === undefined ? '' : ` (${query.error_description})`}`
      s.message = { kind: 'problem', text }
      return reply.redirect('/demo/', 302)
    }
    const cfg = await configuration()
    try {
      const tokens = await oidc.authorizationCodeGrant(cfg, new URL(`${base}/callback?${new URLSearchParams(query)}`), {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      })
      const claims = tokens.claims() as Record<string, unknown>
      const userinfo = (await oidc.fetchUserInfo(cfg, tokens.access_token, String(claims.sub))) as Record<string, unknown>
      s.signedIn = { idToken: tokens.id_token as string, claims, userinfo }
      return reply.redirect('/demo/signed-in', 302)
    } catch (error) {
      s.message = { kind: 'problem', text: `Sign-in failed: ${(error as Error).message}` }
      return reply.redirect('/demo/', 302)
    }
  })

  app.get('/demo/signed-in', (request, reply) => {
    const s = session(request, reply)
    if (s.signedIn === undefined) return reply.redirect('/demo/', 302)
    const { claims, userinfo } = s.signedIn
    const text = (v: unknown) => (v === undefined ? 'not given' : Array.isArray(v) ? v.join(', ') : String(v))
    return render(reply, {
      page: 'demo_signed_in',
      person_name: String(userinfo.name ?? userinfo.display_name ?? claims.sub),
      id_token_claims: JSON.stringify(claims, null, 2),
      userinfo: JSON.stringify(userinfo, null, 2),
      summary: [
        { key: 'sub', value: text(claims.sub) },
        { key: 'acr', value: text(claims.acr) },
        { key: 'amr', value: text(claims.amr) },
        { key: 'selected_roleid', value: text(claims.selected_roleid) },
        { key: 'authentication_assurance_level', value: text(claims.authentication_assurance_level) },
        { key: 'id_assurance_level', value: text(claims.id_assurance_level) },
        { key: 'sid', value: text(claims.sid) },
      ],
      sign_out: '/demo/logout',
      sign_in_again: '/demo/login?prompt=login&scope=profile&scope=nationalrbacaccess&scope=selectedrole&acr_values=AAL2_OR_AAL3_ANY',
      change_role: '/demo/change-role',
    })
  })

  app.get('/demo/logout', async (request, reply) => {
    const s = session(request, reply)
    const idToken = s.signedIn?.idToken
    delete s.signedIn
    if (idToken === undefined) return reply.redirect('/demo/', 302)
    s.message = { kind: 'notice', text: 'You signed out.' }
    return reply.redirect(oidc.buildEndSessionUrl(await configuration(), { id_token_hint: idToken, post_logout_redirect_uri: `${base}/` }).href, 302)
  })

  // OpenID Connect Back-Channel Logout 1.0, 2.6: validate the logout token, then end the local
  // sessions with its sid; 200 on success, 400 for a token that does not validate.
  app.post('/demo/backchannel-logout', async (request, reply) => {
    const token = (request.body as Record<string, unknown> | undefined)?.logout_token
    if (typeof token !== 'string') return reply.code(400).send({ error: 'invalid_request' })
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, audience: client.client_id, algorithms: ['RS256'], typ: 'logout+jwt', maxTokenAge: 300 })
      const events = payload.events as Record<string, unknown> | undefined
      if (events?.[backchannelLogoutEvent] === undefined || 'nonce' in payload || typeof payload.sid !== 'string') throw new Error('not a logout token')
      for (const s of sessions.values()) {
        if (s.signedIn?.claims.sid === payload.sid) {
          delete s.signedIn
          s.message = { kind: 'notice', text: 'Careid ended your session: it sent this app a back-channel logout.' }
        }
      }
      return reply.header('cache-control', 'no-store').code(200).send()
    } catch {
      return reply.code(400).header('cache-control', 'no-store').send({ error: 'invalid_request' })
    }
  })
}
