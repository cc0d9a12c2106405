/**
 * Checking an access token we issued: our signature, not expired, really an access token (an ID
 * token is signed by the same keys and must not pass), its grant not revoked, and its own `jti`
 * not revoked (RFC 7009).
 */
import type { Store } from '@careid/ports'

export interface OwnTokenVerifier {
  /** Verifies a JWT signed by one of our published keys; undefined on any failure. */
  verify(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined
}

export interface VerifiedAccessToken {
  sub: string
  client_id: string
  grant_id: string
  scopes: string[]
  jti: string
  exp: number
  iat: number
  selected_roleid?: string | undefined
  claims: Record<string, unknown>
}

export async function verifyAccessToken(deps: { store: Store; verifier: OwnTokenVerifier; issuer: string; now: () => number }, token: string): Promise<VerifiedAccessToken | undefined> {
  const read = readAccessToken(deps, token)
  return read !== undefined && (await isLive(deps.store, read, deps.now())) ? read : undefined
}

/**
 * The first half of `verifyAccessToken`, which needs no store: our signature, not expired, an access
 * token of ours. A caller that has store reads of its own may start them alongside `isLive`.
 */
export function readAccessToken(deps: { verifier: OwnTokenVerifier; issuer: string; now: () => number }, token: string): VerifiedAccessToken | undefined {
  if (token.length > 8192) return undefined
  const verified = deps.verifier.verify(token)
  if (verified === undefined) return undefined
  const c = verified.payload
  if (c.tokenName !== 'access_token' || c.iss !== deps.issuer) return undefined
  if (typeof c.exp !== 'number' || c.exp * 1000 <= deps.now()) return undefined
  if (typeof c.sub !== 'string' || typeof c.authGrantId !== 'string' || typeof c.jti !== 'string' || typeof c.client_id !== 'string') return undefined
  return {
    sub: c.sub,
    client_id: c.client_id,
    grant_id: c.authGrantId,
    scopes: Array.isArray(c.scope) ? (c.scope as string[]) : [],
    jti: c.jti,
    exp: c.exp,
    iat: typeof c.iat === 'number' ? c.iat : 0,
    selected_roleid: typeof c.selected_roleid === 'string' ? c.selected_roleid : undefined,
    claims: c,
  }
}

/** The second half: its grant not revoked, and its own `jti` not revoked (RFC 7009). */
export async function isLive(store: Store, token: VerifiedAccessToken, now: number): Promise<boolean> {
  const [grant, revoked] = await Promise.all([store.grants.get(token.grant_id), store.replay.has(`revoked_at:${token.jti}`, now)])
  return grant !== undefined && grant.revoked_at === undefined && !revoked
}
