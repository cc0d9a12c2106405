/**
 * Client authentication at the token, introspection and revocation endpoints.
 *
 * - client_secret_basic / client_secret_post (RFC 6749 2.3.1): the secret is compared, in constant
 *   time, with the stored SHA-256 of it. A client with a secret may present it either way.
 * - private_key_jwt (OIDC Core 9, RFC 7523 3): the assertion's iss and sub MUST be the client_id,
 *   aud the token endpoint (or the issuer), jti single use, exp at most 5 minutes ahead; signed with
 *   the client's registered algorithm only (so HS/RS confusion and `none` cannot pass). An aud
 *   array must name this provider alone: an assertion also addressed to another server could be
 *   replayed here by that server (RFC 7523 3: the JWT MUST contain an aud "that identifies the
 *   authorization server as an intended audience"; one minted for several is not ours alone).
 * - none: public clients, which must use PKCE (checked at the authorization endpoint). They have no
 *   credentials, so an endpoint that needs the caller authenticated (introspection, RFC 7662 2.1)
 *   refuses them.
 * RFC 6749 2.3: "The client MUST NOT use more than one authentication method in each request."
 */
import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import type { ClientRecord, ReplayCache } from '@careid/ports'
import { createClientKeySets } from './client_key_sets.ts'
import type { ClientRegistry } from './clients.ts'
import { safeEqual, sha256 } from './crypto.ts'
import { InvalidClient, InvalidRequest } from './errors.ts'
import type { Params, RawParams } from './params.ts'

export const jwtBearerAssertion = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

export interface ClientCredentials {
  params: Params
  /** The Authorization header, if any. */
  authorization?: string | undefined
}

export interface ClientAuthDeps {
  clients: ClientRegistry
  replay: ReplayCache
  issuer: string
  /** Every endpoint URL an assertion's aud may name besides the issuer (the token endpoint). */
  audiences: string[]
  maxAssertionTtlMs: number
  now: () => number
}

export interface ClientAuthOptions {
  /**
   * Whether a public client (`none`) may name itself by client_id alone: yes at the token and
   * revocation endpoints (RFC 7009 2.1 lets public clients revoke), no where the caller must prove
   * who it is (introspection).
   */
  allowPublic: boolean
}

export type ClientAuthenticator = (credentials: ClientCredentials, options?: ClientAuthOptions) => Promise<ClientRecord>

/** Builds the authenticator used by every endpoint that takes client credentials. */
export function createClientAuthenticator(deps: ClientAuthDeps): ClientAuthenticator {
  const keySets = createClientKeySets({ cacheMaxAgeMs: 60_000, cooldownMs: 5_000, timeoutMs: 5_000 })
  const ownAudiences = new Set([deps.issuer, ...deps.audiences])

  function keysOf(client: ClientRecord): JWTVerifyGetKey {
    const keys = keySets(client)
    if (keys === undefined) throw new InvalidClient('JWT is not valid', { detail: 'client has no keys' })
    return keys
  }

  async function byAssertion(params: Params): Promise<ClientRecord> {
    if (params.get('client_assertion_type') !== jwtBearerAssertion) {
      throw new InvalidRequest(`client_assertion_type must be ${jwtBearerAssertion}`)
    }
    const assertion = params.require('client_assertion')
    const claimedId = params.get('client_id') ?? unverifiedIssuer(assertion)
    const client = claimedId === undefined ? undefined : await deps.clients.get(claimedId)
    if (client === undefined || client.token_endpoint_auth_method !== 'private_key_jwt') {
      throw new InvalidClient('JWT is not valid', { detail: 'unknown client or not a private_key_jwt client' })
    }
    const now = deps.now()
    let payload
    try {
      ;({ payload } = await jwtVerify(assertion, keysOf(client), {
        algorithms: [client.token_endpoint_auth_signing_alg ?? 'RS256'],
        issuer: client.client_id,
        subject: client.client_id,
        audience: [...ownAudiences],
        requiredClaims: ['jti', 'exp'],
        currentDate: new Date(now),
        clockTolerance: 5,
      }))
    } catch (error) {
      throw new InvalidClient('JWT is not valid', { detail: (error as Error).message })
    }
    // jose accepts an aud array naming any one of ours; every entry must be ours.
    if (Array.isArray(payload.aud) && !payload.aud.every((aud) => ownAudiences.has(aud))) {
      throw new InvalidClient('JWT is not valid', { detail: 'aud names another audience too' })
    }
    const exp = (payload.exp as number) * 1000
    if (exp - now > deps.maxAssertionTtlMs + 5_000) {
      throw new InvalidClient('JWT is not valid', { detail: 'exp too far ahead' })
    }
    if (typeof payload.jti !== 'string' || payload.jti.length === 0) {
      throw new InvalidClient('JWT is not valid', { detail: 'jti must be a string' })
    }
    if (!(await deps.replay.markUsed(`client_assertion:${client.client_id}:${payload.jti}`, exp, now))) {
      throw new InvalidClient('JWT is not valid', { detail: 'jti replayed' })
    }
    return client
  }

  async function bySecret(clientId: string, secret: string): Promise<ClientRecord> {
    const client = await deps.clients.get(clientId)
    const stored = client?.client_secret_hash
    // Compare even for unknown clients so response time does not reveal which ids exist.
    const ok = safeEqual(sha256(secret), stored ?? 'x'.repeat(43))
    if (client === undefined || stored === undefined || !ok) {
      throw new InvalidClient('Client authentication failed', { detail: 'bad client credentials' })
    }
    return client
  }

  return async function authenticateClient({ params, authorization }, options = { allowPublic: true }) {
    const basic = authorization !== undefined && /^basic /i.test(authorization)
    const assertion = params.has('client_assertion') || params.has('client_assertion_type')
    const post = params.has('client_secret')
    if (Number(basic) + Number(assertion) + Number(post) > 1) {
      throw new InvalidRequest('only one client authentication method may be used')
    }
    if (assertion) return byAssertion(params)
    if (basic) {
      const [id, secret] = parseBasic(authorization)
      const bodyId = params.get('client_id')
      if (bodyId !== undefined && bodyId !== id) throw new InvalidRequest('client_id does not match the Authorization header')
      return bySecret(id, secret)
    }
    const clientId = params.get('client_id')
    if (clientId === undefined) throw new InvalidClient('Client authentication failed', { detail: 'no client credentials' })
    if (post) return bySecret(clientId, params.require('client_secret'))
    const client = await deps.clients.get(clientId)
    if (client === undefined || client.token_endpoint_auth_method !== 'none' || !options.allowPublic) {
      throw new InvalidClient('Client authentication failed', { detail: 'client must authenticate' })
    }
    return client
  }
}

/**
 * The client a token request says it is, before anything is verified (for per-client rate limits,
 * which must count a request before its credentials cost any work): the client_id parameter, else
 * the Basic credentials' id, else a client assertion's `iss`. Undefined when it names none, or
 * names one ambiguously (a repeated parameter, malformed credentials).
 */
export function claimedClientId(raw: RawParams, authorization: string | undefined): string | undefined {
  const single = (name: string) => {
    const value = raw[name]
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  const fromBody = single('client_id')
  if (fromBody !== undefined) return fromBody
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    try {
      return parseBasic(authorization)[0]
    } catch {
      return undefined
    }
  }
  const assertion = single('client_assertion')
  return assertion === undefined ? undefined : unverifiedIssuer(assertion)
}

/** RFC 6749 2.3.1: id and secret are form-urlencoded, then joined by ':' and base64-encoded. */
function parseBasic(header: string): [string, string] {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 1) throw new InvalidClient('Client authentication failed', { detail: 'malformed Basic credentials' })
  try {
    const unescape = (v: string) => decodeURIComponent(v.replaceAll('+', ' '))
    return [unescape(decoded.slice(0, colon)), unescape(decoded.slice(colon + 1))]
  } catch {
    throw new InvalidClient('Client authentication failed', { detail: 'malformed Basic credentials' })
  }
}

/** The assertion's `iss`, read before verification only to find whose keys verify it. */
function unverifiedIssuer(jwt: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown }
    return typeof payload.iss === 'string' ? payload.iss : undefined
  } catch {
    return undefined
  }
}
