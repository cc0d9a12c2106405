/**
 * The signed JWT an application authenticates with in the separate pattern's token exchange and
 * application-restricted access (cis2.md 6.3 step 2, 6.5), checked as NHS England's proxy checks it
 * and refused in its words, in its order:
 * 1. `client_assertion_type` must be `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`;
 * 2. the assertion must be present and a JWT;
 * 3. its header and claims, in validate-client-assertion-claims.js's order: `alg` RS512 ("anything
 *    else: 400"), not expired, `kid`, `typ` JWT, `exp` present and a number, `iss` = `sub`, `jti`
 *    present, a string, and not seen before, `exp` "no more than now + 5 min (the platform allows
 *    310 s)";
 * 4. the application named by `sub` (VerifyAPIKey.FromJWT: "the sub MUST be the client_id"), which
 *    must have registered public keys;
 * 5. the signature, with the key its `kid` names in the application's JWKS (fetched from its JWKS
 *    URL, cached), and `aud` the platform's token URL (VerifyJWT.ClientCredentials);
 * 6. the `jti` is then marked used, atomically, so of two requests with one assertion one wins.
 *    The platform marks it before the signature is checked; marking it only once the assertion
 *    is proven the application's keeps a forged assertion from using up a real one's `jti`.
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type ProtectedHeaderParameters } from 'jose'
import { createClientKeySets, type Params } from '@careid/oidc'
import type { ApplicationRecord, Store } from '@careid/ports'
import { PlatformRefusal } from '../platform_errors.ts'

const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** "We advise to limit expiry time to now + 5 minutes. Allowing an extra 10 seconds to mitigate edge cases" (the platform's own comment). */
const MAX_ASSERTION_LIFETIME_S = 310
/** The platform's VerifyJWT TimeAllowance. */
const clockToleranceS = 10
/** How long a fetched JWKS is used before it is fetched again. */
const jwksCacheMaxAgeMs = 300_000

function refusal(description: string, status = 400): PlatformRefusal {
  return new PlatformRefusal('invalid_request', description, status)
}

/** Step 1, which the token exchange checks before its grant_type (the proxy's Flow.PostTokenTokenExchange). */
export function requireAssertionType(params: Params): void {
  if (params.get('client_assertion_type') !== jwtBearerAssertionType) {
    throw refusal(`Missing or invalid client_assertion_type - must be '${jwtBearerAssertionType}'`)
  }
}

function decoded(assertion: string): { header: ProtectedHeaderParameters; payload: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(assertion), payload: decodeJwt(assertion) }
  } catch {
    throw refusal('Malformed JWT in client_assertion')
  }
}

/** Step 3, in the platform's order: the first failing check is the answer. */
function headerAndClaimsProblem(header: ProtectedHeaderParameters, payload: JWTPayload, nowMs: number): string | undefined {
  const { exp, iss, sub, jti } = payload
  // As the platform's `new Date() > new Date(exp * 1000)`: a missing exp is caught below, not here.
  const expired = nowMs > Number(exp) * 1000
  if (header.alg !== 'RS512') return "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'"
  if (expired) return "Invalid 'exp' claim in client_assertion JWT - JWT has expired"
  if (!header.kid) return "Missing 'kid' header in client_assertion JWT"
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt') return "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"
  if (!exp) return "Missing 'exp' claim in client_assertion JWT"
  if (typeof exp !== 'number') return "Invalid 'exp' claim in client_assertion JWT - must be an integer"
  if (!iss || !sub || iss !== sub) return "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"
  if (!jti) return "Missing 'jti' claim in client_assertion JWT"
  if (typeof jti !== 'string') return "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID"
  return undefined
}

function replayKey(apiKey: string, jti: string): string {
  return `platform_client_assertion:${apiKey}:${jti}`
}

export interface ClientAssertionDeps {
  store: Store
  now: () => number
  /** The platform's token URL: the only `aud` an assertion may name. */
  tokenUrl: string
}

/** Builds the verifier; it keeps each JWKS URL's key set (and its cache) for as long as it lives. */
export function createClientAssertionVerifier(deps: ClientAssertionDeps): (params: Params) => Promise<ApplicationRecord> {
  const keySets = createClientKeySets({ cacheMaxAgeMs: jwksCacheMaxAgeMs, timeoutMs: 5_000 })

  function keysOf(application: ApplicationRecord): JWTVerifyGetKey {
    const keys = keySets(application)
    if (keys === undefined) {
      throw new PlatformRefusal('public_key error', 'You need to register a public key to use this authentication method - please contact support to configure', 403)
    }
    return keys
  }

  /** The application's key for the assertion's kid, refused in the platform's words. */
  function keyResolver(application: ApplicationRecord): JWTVerifyGetKey {
    const keys = keysOf(application)
    return async (header, token) => {
      try {
        return await keys(header, token)
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ERR_JWKS_NO_MATCHING_KEY') {
          throw refusal("Invalid 'kid' header in client_assertion JWT - no matching public key", 401)
        }
        throw new PlatformRefusal('public_key error', "The JWKS endpoint, for your client_assertion can't be reached", 403, { detail: (error as Error).message })
      }
    }
  }

  async function verified(assertion: string, application: ApplicationRecord, nowMs: number): Promise<void> {
    try {
      await jwtVerify(assertion, keyResolver(application), {
        algorithms: ['RS512'],
        audience: deps.tokenUrl,
        currentDate: new Date(nowMs),
        clockTolerance: clockToleranceS,
      })
    } catch (error) {
      if (error instanceof PlatformRefusal) throw error
      const { code, claim } = error as { code?: unknown; claim?: unknown }
      if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw new PlatformRefusal('public_key error', 'JWT signature verification failed', 401)
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'aud') throw refusal("Missing or invalid 'aud' claim in client_assertion JWT", 401)
      if (code === 'ERR_JWT_EXPIRED') throw refusal("Invalid 'exp' claim in client_assertion JWT - JWT has expired")
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && typeof claim === 'string') throw refusal(`Invalid '${claim}' claim in client_assertion JWT`)
      throw error
    }
  }

  return async function verifyClientAssertion(params) {
    requireAssertionType(params)
    const assertion = params.get('client_assertion')
    if (assertion === undefined) throw refusal('Missing client_assertion')
    const { header, payload } = decoded(assertion)
    const nowMs = deps.now()
    const problem = headerAndClaimsProblem(header, payload, nowMs)
    if (problem !== undefined) throw refusal(problem)
    const apiKey = payload.sub
    const jti = payload.jti as string
    const exp = payload.exp as number
    if (await deps.store.replay.has(replayKey(String(apiKey), jti), nowMs)) throw refusal("Non-unique 'jti' claim in client_assertion JWT")
    if (exp - nowMs / 1000 > MAX_ASSERTION_LIFETIME_S) throw refusal("Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future")

    const application = typeof apiKey === 'string' ? await deps.store.apps.get(apiKey) : undefined
    if (application === undefined) throw refusal("Invalid 'iss'/'sub' claims in client_assertion JWT", 401)
    await verified(assertion, application, nowMs)
    // Kept until the assertion could no longer pass, with the clock allowance.
    if (!(await deps.store.replay.markUsed(replayKey(application.api_key, jti), (exp + clockToleranceS) * 1000, nowMs))) {
      throw refusal("Non-unique 'jti' claim in client_assertion JWT")
    }
    return application
  }
}
