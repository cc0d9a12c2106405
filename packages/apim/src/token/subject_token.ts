/**
 * The subject token of a token exchange: the worker's CIS2 ID token (cis2.md 6.3 step 4), checked
 * as NHS England's proxy checks it and refused in its words, in its order:
 * 1. present ("Missing subject_token") and a JWT ("Malformed JWT in subject_token");
 * 2. validate-subject-token-claims.js: header `kid`, `typ` JWT, `alg` present; `exp` present, a
 *    number and in the future; `iss` present; `aud` present (its absence is a 401, cis2.md 6.7);
 * 3. SelectIdTokenIssuer.js: `iss` must be CIS2's ("a foreign subject-token issuer → 400 'Missing
 *    or non-matching 'iss' claim in subject_token JWT'");
 * 4. the signature, with the CIS2 key its `kid` names (an unknown kid is a 401; VerifyJWT.SubjectToken
 *    takes RS256 or RS512), "a subject token with a forged signature → 401 `public_key error`
 *    'JWT signature verification failed'". If CIS2's keys cannot be fetched the platform answers
 *    its catch-all 500.
 * The platform checks no audience value: the ID token is addressed to the application's own CIS2
 * client, which the platform does not know; what binds it to this request is the application's
 * signed client assertion, checked first.
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type ProtectedHeaderParameters } from 'jose'
import { PlatformRefusal, unknownErrorText } from '../platform_errors.ts'

/** CIS2 as the platform trusts it: its issuer and its signing keys (a cached remote JWKS in production). */
export interface Cis2Trust {
  issuer: string
  keys: JWTVerifyGetKey
}

function refusal(description: string, status = 400, detail?: string): PlatformRefusal {
  return new PlatformRefusal('invalid_request', description, status, detail === undefined ? {} : { detail })
}

function decoded(token: string): { header: ProtectedHeaderParameters; payload: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(token), payload: decodeJwt(token) }
  } catch {
    throw refusal('Malformed JWT in subject_token')
  }
}

/** Step 2, in the platform's order. */
function claimsProblem(header: ProtectedHeaderParameters, payload: JWTPayload, nowMs: number): PlatformRefusal | undefined {
  if (!header.kid) return refusal("Missing 'kid' header in subject_token JWT")
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt') return refusal("Invalid 'typ' header in subject_token JWT - must be 'JWT'")
  if (!header.alg) return refusal("Missing 'alg' header in subject_token JWT")
  if (!payload.exp) return refusal("Missing 'exp' claim in subject_token JWT")
  if (typeof payload.exp !== 'number') return refusal("Invalid 'exp' claim in subject_token JWT - must be an integer")
  if (nowMs > payload.exp * 1000) return refusal("Invalid 'exp' claim in subject_token JWT - JWT has expired")
  if (!payload.iss) return refusal("Missing 'iss' claim in subject_token JWT")
  if (!payload.aud) return refusal("Missing 'aud' claim in subject_token JWT", 401)
  return undefined
}

/** CIS2's key for the token's kid, refused in the platform's words. */
function keyResolver(cis2: Cis2Trust): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await cis2.keys(header, token)
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_JWKS_NO_MATCHING_KEY') throw refusal("Invalid 'kid' header in subject_token JWT - no matching public key", 401)
      throw new PlatformRefusal('unknown_error', unknownErrorText, 500, { detail: `CIS2 JWKS: ${(error as Error).message}` })
    }
  }
}

/** The ID token's claims, once every check passed. */
export async function verifiedSubjectToken(subjectToken: string | undefined, cis2: Cis2Trust, nowMs: number): Promise<JWTPayload> {
  if (subjectToken === undefined) throw refusal('Missing subject_token')
  const { header, payload } = decoded(subjectToken)
  const problem = claimsProblem(header, payload, nowMs)
  if (problem !== undefined) throw problem
  if (payload.iss !== cis2.issuer) throw refusal("Missing or non-matching 'iss' claim in subject_token JWT")
  try {
    const { payload: verified } = await jwtVerify(subjectToken, keyResolver(cis2), { algorithms: ['RS256', 'RS512'], currentDate: new Date(nowMs) })
    return verified
  } catch (error) {
    if (error instanceof PlatformRefusal) throw error
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw new PlatformRefusal('public_key error', 'JWT signature verification failed', 401)
    // Anything else the verification refuses (an algorithm CIS2 does not sign with, a token not yet
    // valid) is the platform's InvalidSubjectToken.
    if (typeof code === 'string' && code.startsWith('ERR_J')) throw refusal('subject_token is invalid', 400, code)
    throw error
  }
}
