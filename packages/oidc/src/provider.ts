/**
 * The OpenID provider for one issuer: the endpoints as typed functions (no HTTP here), wired to a
 * store, signing keys, the domain directory and the authenticators. The HTTP layer maps requests
 * onto these; the CLI composes this with concrete adapters and registers the authenticators of
 * plugins (the smartcard) on it.
 */
import type { Authenticator, CredentialKind, Directory, Enroller, EventBus, Store } from '@careid/ports'
import { accountClient } from './account/account_client.ts'
import { createAccountArea } from './account/account_area.ts'
import { authorize, type AuthorizeInput } from './authorize.ts'
import { createLogoutDispatcher, type LogoutMetrics } from './backchannel_logout.ts'
import { createClientAuthenticator } from './client_auth.ts'
import { createClientRegistry } from './clients.ts'
import { realmOf, type ProviderConfig } from './config.ts'
import { discoveryDocument, endpointsOf } from './discovery.ts'
import { endSession, type EndSessionInput } from './end_session.ts'
import { createJourney } from './interaction.ts'
import { introspect } from './introspection.ts'
import type { KeyService } from './keys/index.ts'
import { hashClaim } from './keys/index.ts'
import type { RawParams } from './params.ts'
import { revoke } from './revocation.ts'
import { createSessionService } from './sessions.ts'
import { authorizationCodeGrant } from './grants/authorization_code.ts'
import type { Grant, TokenRequest, TokenResponse } from './grants/grant.ts'
import { refreshTokenGrant } from './grants/refresh_token.ts'
import { createTokenEndpoint } from './token.ts'
import type { TokenSigner } from './tokens.ts'
import { userinfo } from './userinfo.ts'

export interface ProviderDeps {
  store: Store
  keys: KeyService
  directory: Directory
  /** The authenticators offered, in the order the choice page lists them; plugins add theirs with `registerAuthenticator`. */
  authenticators: readonly Authenticator[]
  config: ProviderConfig
  /** This node's name (outbox claims). */
  node: string
  now?: () => number
  fetch?: typeof fetch
  metrics?: LogoutMetrics
  /**
   * Changes made by other nodes and admin commands (client registrations, key rotations), heard
   * while the background work runs; this node's ended sessions are announced on it.
   */
  events?: EventBus | undefined
}

export function createProvider(deps: ProviderDeps) {
  const { store, keys, config } = deps
  const now = deps.now ?? Date.now
  const issuer = config.issuer
  const endpoints = endpointsOf(issuer)
  const realm = realmOf(issuer)
  const clients = createClientRegistry(store.clients, now)
  const sessions = createSessionService({
    store,
    clients,
    config,
    now,
    // Best effort: the session has ended whether or not every listener heard of it.
    onEnded: (session) => void deps.events?.publish({ type: 'session.ended', sid: session.sid }).catch(() => undefined),
  })
  const signer: TokenSigner = {
    sign: (payload, typ) => keys.sign(payload, typ),
    halfHash: (value) => hashClaim(value, keys.activeAlg()),
  }
  const verifier = { verify: (jwt: string) => keys.verify(jwt) }
  const authenticateClient = createClientAuthenticator({
    clients,
    replay: store.replay,
    issuer,
    audiences: [endpoints.token, endpoints.introspection, endpoints.revocation],
    maxAssertionTtlMs: config.clientAssertionMaxTtlMs,
    now,
  })

  /** `sub` of an ID token we issued to someone (id_token_hint): signature checked, expiry not. */
  function hintSubject(idTokenHint: string): string | undefined {
    const c = keys.verify(idTokenHint)?.payload
    if (c === undefined || c.iss !== issuer || c.tokenName !== 'id_token' || typeof c.sub !== 'string') return undefined
    return c.sub
  }

  const authorizeDeps = { store, clients, sessions, config, now, hintSubject }
  // The journey reads this list on every request: an authenticator registered later is offered from then on.
  const authenticators = [...deps.authenticators]
  const journey = createJourney({ ...authorizeDeps, authenticators, directory: deps.directory })
  // The account area reads these lists on every request, as the journey reads the authenticators.
  const enrollers: Enroller[] = []
  const credentialKinds: CredentialKind[] = []
  const tokenParams = (params: RawParams) => tokenEndpoint.handle({ params })
  const account = createAccountArea({ store, sessions, config, now, enrollers, credentialKinds, token: tokenParams, verify: (jwt) => keys.verify(jwt) })
  const dispatcher = createLogoutDispatcher({ outbox: store.outbox, signer, config, node: deps.node, now, fetch: deps.fetch, metrics: deps.metrics })
  const grantDeps = { store, config, signer, realm, now }
  const tokenEndpoint = createTokenEndpoint<TokenResponse>({ authenticateClient, grants: [authorizationCodeGrant(grantDeps), refreshTokenGrant(grantDeps)] })
  const discoveryOf = () => JSON.stringify(discoveryDocument(issuer, 'RS256', tokenEndpoint.grantTypes()))
  // Built once, and again when a grant is registered: it is served as the same bytes every time.
  let discoveryJson = discoveryOf()
  const tokenDeps = { store, verifier, issuer, now, authenticateClient }

  let maintenance: NodeJS.Timeout | undefined
  let maintaining: Promise<void> | undefined
  let unsubscribe: (() => void) | undefined
  let lastCleanup = 0
  async function maintain(): Promise<void> {
    await sessions.sweep()
    await keys.tick()
    const t = now()
    if (t - lastCleanup >= 60_000) {
      lastCleanup = t
      await store.codes.removeExpired(t, config.codeRetainMs)
      await store.interactions.removeExpired(t)
      await store.replay.removeExpired(t)
      await store.rates.removeExpired(t)
      await store.grants.removeExpired(t)
      await store.apiGrants.removeExpired(t)
    }
  }

  return {
    config,
    endpoints,
    clients,
    sessions,
    journey,
    /**
     * Offers a plugin's authenticator, bound to the store parts it needs (`bindAuthenticator`), after
     * those already offered. Register before serving; a second authenticator with the same id is a
     * wiring mistake and throws.
     */
    registerAuthenticator(authenticator: Authenticator): void {
      if (authenticators.some((a) => a.method.id === authenticator.method.id)) throw new Error(`an authenticator with id ${authenticator.method.id} is already registered`)
      authenticators.push(authenticator)
    },
    /** "Your sign-in methods" at `{issuer}/account` (account/account_area.ts). */
    account,
    /**
     * Offers a plugin's enrolment ceremony on the account area (bound to its store parts with
     * `bindEnroller`). A second enroller for the same method is a wiring mistake and throws.
     */
    registerEnroller(enroller: Enroller): void {
      if (enrollers.some((e) => e.method === enroller.method)) throw new Error(`an enroller for ${enroller.method} is already registered`)
      enrollers.push(enroller)
    },
    /** Lists a kind of credential on the account area, where the worker may remove theirs. */
    registerCredentialKind(kind: CredentialKind): void {
      if (credentialKinds.some((k) => k.kind === kind.kind)) throw new Error(`a credential kind ${kind.kind} is already registered`)
      credentialKinds.push(kind)
    },
    /** The methods an enroller is registered for (what an RA may issue an enrolment code for). */
    enrolmentMethods: (): string[] => enrollers.map((e) => e.method),
    /** Registers (or re-points) the account area's own client; call at every start, before serving. */
    async registerAccountClient(): Promise<void> {
      const existing = await store.clients.get(accountClient(issuer, 0).client_id)
      await store.clients.put(accountClient(issuer, existing?.created_at ?? now()))
      clients.invalidate(accountClient(issuer, 0).client_id)
    },
    dispatcher,
    discoveryJson: () => discoveryJson,
    jwksJson: () => keys.jwksJson(),
    authorize: (input: AuthorizeInput) => authorize(authorizeDeps, input),
    token: (request: TokenRequest) => tokenEndpoint.handle(request),
    /**
     * Adds a grant type to the token endpoint (as oidc-provider's registerGrantType), advertised in
     * discovery from then on. Register before serving: a grant type is never replaced or removed.
     */
    registerGrant(grant: Grant): void {
      tokenEndpoint.registerGrant(grant)
      discoveryJson = discoveryOf()
    },
    grantTypes: () => tokenEndpoint.grantTypes(),
    /**
     * Client authentication as the token, introspection and revocation endpoints do it (every
     * method, one replay cache for assertions), for a grant or a token endpoint of another package.
     */
    authenticateClient,
    userinfo: (input: { authorization?: string | undefined; bodyToken?: string | string[] | undefined }) =>
      userinfo({ store, verifier, directory: deps.directory, issuer, now }, input),
    introspect: (input: { params: RawParams; authorization?: string | undefined }) => introspect(tokenDeps, input),
    revoke: (input: { params: RawParams; authorization?: string | undefined }) => revoke(tokenDeps, input),
    endSession: (input: EndSessionInput) => endSession({ clients, sessions, verifier, issuer }, input),
    /** Session sweeps, key activation, expiry clean-up, back-channel logout delivery, and other nodes' events. */
    startBackground(intervalMs = 1_000): void {
      // Another node's change reaches this one within a second; the client cache's TTL and the
      // periodic key reload below remain the backstop for events lost in an outage.
      unsubscribe ??= deps.events?.subscribe(async (event) => {
        if (event.type === 'client.changed') clients.invalidate(event.client_id)
        else if (event.type === 'keys.rotated') await keys.reload()
      })
      dispatcher.start(intervalMs)
      const loop = () => {
        maintenance = setTimeout(() => {
          maintaining = maintain().catch(() => undefined)
          void maintaining.finally(() => {
            maintaining = undefined
            if (maintenance !== undefined) loop()
          })
        }, intervalMs * 5)
      }
      loop()
    },
    /** Stops listening and the loops, waits for a round in progress, and releases this node's outbox claims. */
    async stopBackground(): Promise<void> {
      unsubscribe?.()
      unsubscribe = undefined
      clearTimeout(maintenance)
      maintenance = undefined
      await maintaining
      await dispatcher.stop()
    },
    maintain,
  }
}

export type Provider = ReturnType<typeof createProvider>
