/**
 * The per-application rate limit of an API behind the gateway (cis2.md 6.6: "Default rate limit:
 * 5 TPS per app"; 429 `TOO_MANY_REQUESTS`). As the platform's rate-limiting flow, it counts each
 * application's calls to each API apart, and only calls whose token was accepted: another
 * application, or another API, is never slowed by one that is over its limit.
 *
 * Counted in fixed one-second windows in the store's rate counter (shared by every node), keyed by
 * the product and the SHA-256 of the API key, so a counter's name says nothing of the application.
 */
import type { RateCounter } from '@careid/ports'
import { sha256 } from '@careid/oidc'

export const DEFAULT_REQUESTS_PER_SECOND = 5
const WINDOW_MS = 1000

export type RateCheck = { ok: true } | { ok: false; retryAfterSeconds: number }

export async function countAppCall(rates: RateCounter, product: string, apiKey: string, perSecond: number, now: number): Promise<RateCheck> {
  const hits = await rates.hit(`gateway:${product}:${sha256(apiKey)}`, WINDOW_MS, now)
  if (hits <= perSecond) return { ok: true }
  // Retry-After is whole seconds (RFC 9110 10.2.3): the time left in this window, at least 1.
  const left = WINDOW_MS - (now % WINDOW_MS)
  return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(left / 1000)) }
}
