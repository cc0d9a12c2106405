/**
 * The API Platform's tokens and the one writer of its token responses.
 *
 * Tokens are opaque random strings (the platform's own are opaque too); only their SHA-256 is
 * stored, with the grant they belong to (`store.apiGrants`). Lifetimes are the platform's for CIS2
 * (cis2.md 6.2 step 5; NHS England's identity-service config): access tokens 10 minutes, refresh
 * tokens 12 hours each, and no refresh once 12 hours have passed since first authentication
 * ("refreshing stops once `refresh_tokens_validity_ms` has passed since first authentication"),
 * which the platform counts from its first token of the grant (`_first_issued`,
 * calculate-token-age.js), seconds after the worker's sign-in: `refresh_until` is the grant's
 * first issue plus that period. A refresh token never outlives the period: as
 * calculate-refresh-token-expires-in.js takes "the earliest time" of its own lifetime and the
 * period's end.
 *
 * The response's values are strings (cis2.md 6.2 step 4, 6.3 step 5), as the platform's templates
 * write them: `"expires_in": "599"`, `"refresh_token_expires_in": "43199"`, `"refresh_count": "0"`.
 */
import { randomUUID } from 'node:crypto'
import { randomToken, sha256 } from '@careid/oidc'
import type { ApiGrantPattern, ApiGrantRecord, ApiGrantUser, ApiTokenRecord, Store } from '@careid/ports'

/** The platform's CIS2 access token lifetime (answered as "599"). */
export const ACCESS_TOKEN_EXPIRY_MS = 600_000
/** One refresh token's lifetime (answered as "43199"). */
export const REFRESH_TOKEN_EXPIRY_MS = 43_200_000
/** How long after authentication refreshing may go on (12 hours for CIS2). */
export const REFRESH_TOKENS_VALIDITY_MS = 43_200_000

/** RFC 8693 2.2.1: the type of the token a token exchange issued. */
const issuedTokenTypeAccessToken = 'urn:ietf:params:oauth:token-type:access_token'

/** What a grant is made of, before its tokens. */
export interface NewApiGrant {
  grant_id?: string | undefined
  api_key: string
  pattern: ApiGrantPattern
  scope: string
  user?: ApiGrantUser | undefined
  cis2_access_token_sealed?: string | undefined
  authenticated_at: number
  /** No refresh after this; the access token's issue time for a grant without refresh tokens. */
  refresh_until: number
}

/** Tokens just issued, in the clear for the one response that carries them. */
export interface IssuedTokens {
  access_token: string
  access_expires_at: number
  refresh_token?: string | undefined
  refresh_expires_at?: number | undefined
  refresh_count: number
  issued_at: number
}

function tokenRecord(token: string, grantId: string, kind: ApiTokenRecord['kind'], refreshCount: number, now: number, expiresAt: number): ApiTokenRecord {
  return { token_hash: sha256(token), grant_id: grantId, kind, refresh_count: refreshCount, created_at: now, expires_at: expiresAt }
}

/** A new access token and, where the grant may be refreshed, a refresh token, with their records. */
function mint(grantId: string, refreshCount: number, now: number, accessTtlMs: number, refreshUntil: number | undefined) {
  const tokens: IssuedTokens = { access_token: randomToken(32), access_expires_at: now + accessTtlMs, refresh_count: refreshCount, issued_at: now }
  const records = [tokenRecord(tokens.access_token, grantId, 'access', refreshCount, now, tokens.access_expires_at)]
  if (refreshUntil !== undefined) {
    tokens.refresh_token = randomToken(32)
    tokens.refresh_expires_at = Math.min(now + REFRESH_TOKEN_EXPIRY_MS, refreshUntil)
    records.push(tokenRecord(tokens.refresh_token, grantId, 'refresh', refreshCount, now, tokens.refresh_expires_at))
  }
  return { tokens, records }
}

/** Stores a new grant with its first tokens; `withRefresh` false for application-restricted access (6.5). */
export async function issueGrant(store: Store, grant: NewApiGrant, now: number, accessTtlMs: number, withRefresh: boolean): Promise<IssuedTokens> {
  const grantId = grant.grant_id ?? randomUUID()
  const { tokens, records } = mint(grantId, 0, now, accessTtlMs, withRefresh ? grant.refresh_until : undefined)
  const record: ApiGrantRecord = {
    grant_id: grantId,
    api_key: grant.api_key,
    pattern: grant.pattern,
    scope: grant.scope,
    authenticated_at: grant.authenticated_at,
    refresh_until: grant.refresh_until,
    created_at: now,
    expires_at: Math.max(...records.map((r) => r.expires_at)),
  }
  if (grant.user !== undefined) record.user = grant.user
  if (grant.cis2_access_token_sealed !== undefined) record.cis2_access_token_sealed = grant.cis2_access_token_sealed
  await store.apiGrants.issue(record, records)
  return tokens
}

/**
 * Exchanges a refresh token for its successors, once: undefined when another request used it
 * first (refresh tokens are single use, cis2.md 6.2 step 5), or it expired or was revoked since.
 */
export async function rotateGrant(store: Store, presented: ApiTokenRecord, now: number, accessTtlMs: number, refreshUntil: number): Promise<IssuedTokens | undefined> {
  const { tokens, records } = mint(presented.grant_id, presented.refresh_count + 1, now, accessTtlMs, refreshUntil)
  return (await store.apiGrants.rotate(presented.token_hash, records, now)) ? tokens : undefined
}

/**
 * Whole seconds a token has left, counted from just after its issue as the platform counts them:
 * its 10-minute access token says "599", its 12-hour refresh token "43199".
 */
function secondsLeft(expiresAt: number, now: number): string {
  return String(Math.max(0, Math.ceil((expiresAt - now) / 1000) - 1))
}

/** Which response: a redeemed code (6.2 step 4), a token exchange (6.3 step 5), a refresh (6.2 step 5), or client credentials (6.5). */
export type PlatformResponseKind = { kind: 'authorization_code'; sid: string } | { kind: 'token_exchange' } | { kind: 'refresh_token' } | { kind: 'client_credentials' }

/** The platform's token responses: every value a string. */
export type PlatformTokenResponse = Readonly<Record<string, string>>

/** The one writer of the platform's token responses, in the members and order of its templates. */
export function platformTokenResponse(response: PlatformResponseKind, tokens: IssuedTokens): PlatformTokenResponse {
  const now = tokens.issued_at
  const access = { access_token: tokens.access_token, expires_in: secondsLeft(tokens.access_expires_at, now) }
  if (response.kind === 'client_credentials') {
    // The platform's issued_at is the issue time in ms since the epoch (Apigee's system.timestamp).
    return { ...access, token_type: 'Bearer', issued_at: String(now) }
  }
  if (tokens.refresh_token === undefined || tokens.refresh_expires_at === undefined) throw new Error('a user-restricted grant issues a refresh token')
  const refresh = {
    refresh_token: tokens.refresh_token,
    refresh_token_expires_in: secondsLeft(tokens.refresh_expires_at, now),
    refresh_count: String(tokens.refresh_count),
  }
  switch (response.kind) {
    case 'token_exchange':
      return { ...access, token_type: 'Bearer', issued_token_type: issuedTokenTypeAccessToken, ...refresh }
    case 'authorization_code':
      return { ...access, ...refresh, token_type: 'Bearer', sid: response.sid }
    case 'refresh_token':
      return { ...access, ...refresh, token_type: 'Bearer' }
  }
}
