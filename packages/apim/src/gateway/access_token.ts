/**
 * The platform token a call to an API behind the gateway carries: `Authorization: Bearer <token>`,
 * an opaque token the platform issued, looked up by its SHA-256 (cis2.md 6.1, 6.7: "Authorization
 * failures (no token, bad token, expired, wrong scheme) → 401 `ACCESS_DENIED`").
 *
 * The texts are the platform's: Apigee's `VerifyAccessToken` fault strings ("Invalid Access Token",
 * "Access Token expired", "Invalid access token" for an empty token), explained the way the PDS
 * proxy explains a header that carries no token (its `UpdateInvalidAccessTokenFaultString.js`).
 * None of them ever repeats the token.
 */
import type { ApiGrantStore, ApiTokenGrant } from '@careid/ports'
import { sha256 } from '@careid/oidc'

/** The token's grant, or the platform's text for why there is none. */
export type AccessCheck = { ok: true; access: ApiTokenGrant } | { ok: false; diagnostics: string }

/**
 * An RFC 6750 `b64token`, of a length a platform token can have: anything else is refused without
 * a look-up (and without hashing an arbitrarily long string).
 */
const b64token = /^[A-Za-z0-9\-._~+/]{1,512}=*$/

export async function checkAccessToken(authorization: string | undefined, grants: ApiGrantStore, now: number): Promise<AccessCheck> {
  if (authorization === undefined) return { ok: false, diagnostics: 'Missing Authorization header' }
  if (authorization === '') return { ok: false, diagnostics: 'Empty Authorization header' }
  const words = authorization.split(' ')
  if (words.length === 1) return { ok: false, diagnostics: 'Missing access token' }
  // The platform compares the scheme exactly: `bearer` is refused as another type.
  if (words[0] !== 'Bearer') return { ok: false, diagnostics: `Invalid token type '${words[0]}', must be 'Bearer'` }
  const token = words[1]!
  if (token === '') return { ok: false, diagnostics: 'Invalid access token' }
  if (words.length > 2 || !b64token.test(token)) return { ok: false, diagnostics: 'Invalid Access Token' }

  const hash = sha256(token)
  const access = await grants.findAccess(hash, now)
  if (access !== undefined) return { ok: true, access }
  // Told apart only for the text: a token that would be live were it not past its expiry (its
  // grant not revoked, not yet deleted) is "expired", as the platform says; any other is invalid.
  const expired = (await grants.findAccess(hash, 0)) !== undefined
  return { ok: false, diagnostics: expired ? 'Access Token expired' : 'Invalid Access Token' }
}
