/**
 * The CIS2 ID token the platform receives at `/callback`, checked as the platform checks it (cis2.md
 * 6.2 step 3: "`aud` = its CIS2 client_id, `iss` = CIS2 issuer case-insensitively, signature via the
 * CIS2 JWKS with cache"), in its order and with its answers: the claims first (400), then the key
 * (401 when no published key has the token's kid) and the signature (401 `public_key error`).
 * Careid adds what the platform leaves out: the token must be unexpired (jose checks `exp`) and
 * carry the nonce the platform sent with the request (OpenID Connect Core 3.1.3.7).
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose'
import type { Cis2Provider } from './cis2_provider.ts'
import { PlatformRefusal, unknownError } from '../platform_errors.ts'

/** CIS2 signs with RS256 (the platform also accepts RS512). */
const algorithms = ['RS256', 'RS512']

/** The claims of a CIS2 ID token that passed every check. */
export async function checkExternalIdToken(cis2: Cis2Provider, idToken: string, nonce: string): Promise<JWTPayload> {
  let claims: JWTPayload
  try {
    decodeProtectedHeader(idToken)
    claims = decodeJwt(idToken)
  } catch {
    throw new PlatformRefusal('invalid_request', 'Malformed JWT in External ID token', 400)
  }
  const { clientId, issuer } = cis2.settings
  // The platform compares the aud claim with its client_id loosely: a single audience, bare or in an array.
  const aud = Array.isArray(claims.aud) && claims.aud.length === 1 ? claims.aud[0] : claims.aud
  if (aud !== clientId) throw new PlatformRefusal('invalid_request', "Invalid 'aud' claim in external ID token JWT", 400)
  if (typeof claims.iss !== 'string' || claims.iss.toLowerCase() !== issuer.toLowerCase()) {
    throw new PlatformRefusal('invalid_request', 'Invalid iss claim in external ID token JWT', 400)
  }
  try {
    await jwtVerify(idToken, cis2.keys, { algorithms })
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) {
      throw new PlatformRefusal('invalid_request', "Invalid 'kid' header in external ID token JWT - no matching public key", 401)
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) throw new PlatformRefusal('public_key error', 'JWT signature verification failed', 401)
    if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError)) {
      throw unknownError(500, `CIS2's signing keys could not be fetched: ${(error as Error).message}`)
    }
    // Expired, not yet valid, an algorithm CIS2 does not use: the platform's catch-all, as its verifier's other faults get.
    throw unknownError(401, `CIS2 ID token refused: ${error.code}`)
  }
  if (claims.nonce !== nonce) throw unknownError(401, 'CIS2 ID token nonce does not match the request')
  return claims
}
