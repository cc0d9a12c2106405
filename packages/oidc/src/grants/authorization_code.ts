/**
 * grant_type=authorization_code (RFC 6749 4.1.3, OIDC Core 3.1.3.2):
 * - the code is single use: "If an authorization code is used more than once, the authorization
 *   server MUST deny the request and SHOULD revoke (when possible) all tokens previously issued
 *   based on that authorization code";
 * - it is bound to the client it was issued to and lives at most 60 s;
 * - redirect_uri must be identical to the authorization request's when that one carried it;
 * - PKCE (RFC 7636 4.6): the verifier must hash to the challenge; a verifier without a challenge
 *   is refused too, so a code cannot be redeemed in a way it was not issued for.
 */
import { createHash } from 'node:crypto'
import type { ClientRecord } from '@careid/ports'
import { decodeCodePayload } from '../code_payload.ts'
import { randomToken, safeEqual, sha256 } from '../crypto.ts'
import { InvalidGrant, InvalidRequest } from '../errors.ts'
import type { Params } from '../params.ts'
import { isLocked, sessionEndedMark } from '../sessions.ts'
import { accessTokenClaims, idTokenClaims, signInFacts } from '../tokens.ts'
import type { Grant, GrantDeps, TokenResponse } from './grant.ts'

const invalidCode = 'The provided access grant is invalid, expired, or revoked.'
const reusedMark = (grantId: string) => `code_reused:${grantId}`
/** RFC 7636 4.1: 43 to 128 unreserved characters. */
const verifierShape = /^[A-Za-z0-9._~-]{43,128}$/

export function authorizationCodeGrant(deps: GrantDeps): Grant {
  return {
    grantType: 'authorization_code',
    parameters: ['code', 'redirect_uri', 'code_verifier'],
    handle: ({ client, params }) => redeemCode(deps, client, params),
  }
}

async function redeemCode(deps: GrantDeps, client: ClientRecord, params: Params): Promise<TokenResponse> {
  const code = params.require('code')
  const redirectUri = params.get('redirect_uri')
  const verifier = params.get('code_verifier')
  if (verifier !== undefined && !verifierShape.test(verifier)) throw new InvalidRequest('code_verifier must be 43 to 128 unreserved characters')
  const now = deps.now()

  const redemption = await deps.store.codes.redeem(sha256(code), now)
  if (redemption.kind === 'absent') throw new InvalidGrant(invalidCode)
  if (redemption.kind === 'reused') {
    // Marked before revoking: if the first redemption has not stored its grant yet, it finds
    // this mark after storing it and revokes it itself (see below), so the race cannot be won.
    await deps.store.replay.markUsed(reusedMark(redemption.code.grant_id), now + deps.config.codeRetainMs, now)
    await deps.store.grants.revoke(redemption.code.grant_id, now)
    await deps.store.audit.append({ at: now, type: 'code.reused', client_id: client.client_id, detail: { grant_id: redemption.code.grant_id } })
    throw new InvalidGrant(invalidCode)
  }
  const record = redemption.code
  if (record.client_id !== client.client_id) throw new InvalidGrant(invalidCode, { detail: 'code issued to another client' })
  const payload = decodeCodePayload(record.payload)
  if (payload === undefined) throw new InvalidGrant(invalidCode, { detail: 'code payload not decodable' })
  if (payload.redirect_uri_given || redirectUri !== undefined) {
    if (redirectUri !== record.redirect_uri) throw new InvalidGrant('redirect_uri does not match the authorization request')
  }
  if (payload.code_challenge !== undefined) {
    if (verifier === undefined) throw new InvalidGrant('code_verifier is required')
    const computed = createHash('sha256').update(verifier).digest('base64url')
    if (!safeEqual(computed, payload.code_challenge)) throw new InvalidGrant('PKCE verification failed')
  } else if (verifier !== undefined) {
    throw new InvalidGrant('code_verifier given for a code issued without code_challenge')
  }

  const { facts } = payload
  const grantId = record.grant_id
  const expiresAt = now + (client.refresh_tokens ? deps.config.refreshTokenTtlMs : deps.config.accessTokenTtlMs)
  await deps.store.grants.put({
    grant_id: grantId,
    client_id: client.client_id,
    sub: facts.sub,
    sid: facts.sid,
    scope: payload.scopes.join(' '),
    sign_in: signInFacts(facts),
    created_at: now,
    expires_at: expiresAt,
  })
  // Checked after the grant is stored: a reuse or a session end that marked first is seen here, and
  // one that marks later revokes the stored grant itself, so neither race leaves a live grant. A
  // session locked since the code was issued (its card removed) issues nothing either: the code is
  // spent, so its grant is revoked too.
  const [reused, sessionEnded, session] = await Promise.all([
    deps.store.replay.has(reusedMark(grantId), now),
    deps.store.replay.has(sessionEndedMark(facts.sid), now),
    deps.store.sessions.getBySid(facts.sid),
  ])
  const refusal = reused ? 'code reused while it was being redeemed' : sessionEnded || session === undefined ? 'the session ended' : isLocked(session) ? 'the session is locked' : undefined
  if (refusal !== undefined) {
    await deps.store.grants.revoke(grantId, now)
    throw new InvalidGrant(invalidCode, { detail: refusal })
  }

  const accessToken = deps.signer.sign(
    accessTokenClaims({
      issuer: deps.config.issuer,
      realm: deps.realm,
      clientId: client.client_id,
      sub: facts.sub,
      grantId,
      grantType: 'authorization_code',
      scopes: payload.scopes,
      authTimeMs: facts.auth_time,
      selectedRoleId: facts.selected_roleid,
      nowMs: now,
      ttlMs: deps.config.accessTokenTtlMs,
    }),
    'JWT',
  )
  const idToken = deps.signer.sign(
    idTokenClaims({
      issuer: deps.config.issuer,
      realm: deps.realm,
      clientId: client.client_id,
      facts,
      nonce: payload.nonce,
      accessToken,
      code,
      state: payload.state,
      nowMs: now,
      ttlMs: deps.config.idTokenTtlMs,
      signer: deps.signer,
    }),
    'JWT',
  )
  const response: TokenResponse = {
    access_token: accessToken,
    scope: payload.scopes.join(' '),
    id_token: idToken,
    token_type: 'Bearer',
    expires_in: Math.floor(deps.config.accessTokenTtlMs / 1000),
  }
  if (client.refresh_tokens) {
    const refreshToken = randomToken(32)
    await deps.store.refreshTokens.put({ token_hash: sha256(refreshToken), grant_id: grantId, client_id: client.client_id, created_at: now, expires_at: expiresAt })
    response.refresh_token = refreshToken
  }
  return response
}
