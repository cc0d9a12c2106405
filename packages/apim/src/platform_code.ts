/**
 * The platform's own authorization code (combined pattern, cis2.md 6.2 step 3): made at
 * `/callback` once CIS2 has signed the worker in, redeemed at `/token`. It is kept in the store's
 * code part (`AuthorizationCodeRecord`, by the code's hash, `client_id` the API key), and carries
 * what the grant will hold.
 */
import type { ApiGrantUser } from '@careid/ports'

/** The `payload` of the code record. */
export interface PlatformCodePayload {
  /** The product scopes left after filtering by the sign-in's assurance level, space-separated. */
  scope: string
  user: ApiGrantUser
  /** The CIS2 access token, sealed by the secret box (for the proxied `/userinfo`). */
  cis2_access_token_sealed: string
  /** When the worker signed in at CIS2 (the ID token's `auth_time`, in ms). */
  authenticated_at: number
  /** The `_refresh_tokens_validity_ms` / `_access_token_expiry_ms` test reductions asked at `/authorize`, if any. */
  reductions?: { access_token_expiry_ms?: number | undefined; refresh_tokens_validity_ms?: number | undefined } | undefined
}

/** How long a platform code lives: a browser redirect and one token request. */
export const PLATFORM_CODE_TTL_MS = 60_000
