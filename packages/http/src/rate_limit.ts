/**
 * Rate limits against guessing and flooding, counted in the store's fixed-window `RateCounter`, so
 * every node shares one count:
 * - password and authenticator-app code posts per username and client IP. The code step asks for
 *   no username, so there the count is per sign-in journey and client IP: by then the journey
 *   belongs to the one person whose password it took. Which of the two is counted follows the
 *   journey's current step, never the posted fields: a `username` added to a code post must not
 *   start a fresh count.
 * - token requests per client and client IP. Not per client alone: a client_id is public (every
 *   authorization request carries it), so a limit per client alone would let anyone spend a
 *   relying party's allowance and shut it out.
 * A request over its limit is refused before any work is done on it (no password hash checked, no
 * code redeemed): 429 with Retry-After until its window ends (RFC 6585 4). The keys are hashes:
 * usernames and addresses are personal data and are not stored as given.
 */
import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { claimedClientId, OAuthError, type RawParams } from '@careid/oidc'
import { rateWindowEnd, type RateCounter } from '@careid/ports'

export interface RateLimit {
  /** Requests allowed in one window; the next one is refused. */
  limit: number
  windowMs: number
}

export interface RateLimits {
  signIn: RateLimit
  token: RateLimit
}

/**
 * Over a rate limit. The wire code is `invalid_request`: RFC 6749 5.2 lists every code a token
 * endpoint client must understand and none is about rate; `invalid_request` is the general one.
 * `slow_down` is registered only for the device authorization grant (RFC 8628 3.5), where it tells
 * a polling device to poll less often: a client redeeming a code has no polling interval to raise
 * and may not know the code at all. The 429 status and Retry-After say the rest.
 */
export class TooManyRequests extends OAuthError {
  readonly retryAfterSeconds: number

  constructor(description: string, retryAfterSeconds: number) {
    super('invalid_request', description, 429, { allowRedirect: false })
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** A counter key: the hash of what is counted (a purpose, then the values it is counted by). */
function rateKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('base64url')
}

export interface RateLimiter {
  /**
   * Counts a password or authenticator-app code post; throws TooManyRequests over the limit.
   * `username` is the one posted when the journey's current step asks for it, else undefined.
   */
  signIn(request: FastifyRequest, interactionId: string, username: string | undefined): Promise<void>
  /**
   * Counts a post of the enrolment code form, per client address alone (the username typed is not
   * trusted to name a count); throws TooManyRequests over the limit.
   */
  enrolmentCode(request: FastifyRequest): Promise<void>
  /** Counts a token request; throws TooManyRequests over the limit. */
  token(request: FastifyRequest, params: RawParams): Promise<void>
}

export function createRateLimiter(counter: RateCounter, limits: RateLimits, now: () => number = Date.now): RateLimiter {
  async function count(limit: RateLimit, key: string, description: string): Promise<void> {
    const t = now()
    const hits = await counter.hit(key, limit.windowMs, t)
    if (hits > limit.limit) throw new TooManyRequests(description, Math.max(1, Math.ceil((rateWindowEnd(limit.windowMs, t) - t) / 1000)))
  }

  return {
    signIn(request, interactionId, username) {
      // Lower case: a username typed in another case must not start a fresh count.
      const typed = (username ?? '').trim().toLowerCase()
      const who = typed === '' ? ['journey', interactionId] : ['username', typed]
      return count(limits.signIn, rateKey('sign-in', ...who, request.ip), 'wait a minute, then try again')
    },
    enrolmentCode(request) {
      return count(limits.signIn, rateKey('enrolment-code', request.ip), 'wait a minute, then try again')
    },
    token(request, params) {
      const client = claimedClientId(params, request.headers.authorization) ?? ''
      return count(limits.token, rateKey('token', client, request.ip), 'too many token requests from this client; retry after the time in Retry-After')
    },
  }
}
