/**
 * CIS2 as the API Platform's OAuth service meets it: the platform is a relying party of CIS2 with a
 * client of its own (cis2.md 6.2 step 2: "its own client_id and redirect_uri (`…/oauth2/callback`)"),
 * authenticating at CIS2's token endpoint with `client_secret_post` (step 3). This module holds
 * that registration, CIS2's endpoints and its signing keys (fetched once and cached, refetched
 * when a token names a key not yet seen), and makes the two calls the platform makes: the code
 * exchange and userinfo.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose'
import { unknownError } from '../platform_errors.ts'

export interface Cis2Settings {
  /** CIS2's issuer, compared case-insensitively with `iss` (as the platform compares it). */
  issuer: string
  authorizationEndpoint: string
  tokenEndpoint: string
  userinfoEndpoint: string
  jwksUri: string
  /** The platform's own client at CIS2. */
  clientId: string
  clientSecret: string
}

/** What CIS2's token endpoint answered to a code exchange, when it issued tokens. */
export interface Cis2Tokens {
  access_token: string
  id_token: string
}

/** CIS2 answered with something other than what was asked for; `detail` (for logs) says what. */
export class Cis2Unavailable extends Error {
  override name = 'Cis2Unavailable'
}

export interface Cis2Provider {
  readonly settings: Cis2Settings
  /** CIS2's signing keys, cached. */
  readonly keys: JWTVerifyGetKey
  /** Exchanges a CIS2 authorization code (RFC 6749 4.1.3, `client_secret_post`, with the PKCE verifier). */
  exchangeCode(code: string, redirectUri: string, codeVerifier: string): Promise<Cis2Tokens>
  /** CIS2's userinfo for a CIS2 access token: its status and JSON body as sent. */
  userinfo(accessToken: string): Promise<{ status: number; body: unknown }>
}

/** How long a call to CIS2 may take before the platform gives up on it. */
const callTimeoutMs = 10_000

export function createCis2Provider(settings: Cis2Settings): Cis2Provider {
  // jose caches the key set and refetches it (at most every 30 s) when a token names an unknown kid,
  // so CIS2's key rotation is followed without fetching the keys on every sign-in.
  const keys = createRemoteJWKSet(new URL(settings.jwksUri), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: callTimeoutMs })
  return {
    settings,
    keys,
    async exchangeCode(code, redirectUri, codeVerifier) {
      const response = await call(settings.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: settings.clientId,
          client_secret: settings.clientSecret,
          code_verifier: codeVerifier,
        }).toString(),
      })
      const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined
      if (response.status !== 200 || typeof body?.access_token !== 'string' || typeof body.id_token !== 'string') {
        // CIS2's error code only: its description could echo what was sent.
        throw new Cis2Unavailable(`CIS2's token endpoint answered ${response.status}${typeof body?.error === 'string' ? ` ${body.error}` : ''}`)
      }
      return { access_token: body.access_token, id_token: body.id_token }
    },
    async userinfo(accessToken) {
      const response = await call(settings.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } })
      const body = await response.json().catch(() => undefined)
      if (body === undefined) throw new Cis2Unavailable(`CIS2's userinfo answered ${response.status} without JSON`)
      return { status: response.status, body }
    },
  }
}

async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(callTimeoutMs) })
  } catch (error) {
    throw new Cis2Unavailable(`CIS2 did not answer at ${new URL(url).origin}: ${(error as Error).message}`)
  }
}

/** A call to CIS2; CIS2 failing is the platform's catch-all (500), with what failed in the log only. */
export async function fromCis2<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (failure) {
    if (failure instanceof Cis2Unavailable) throw unknownError(500, failure.message)
    throw failure
  }
}
