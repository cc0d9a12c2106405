/**
 * grant_type=refresh_token (RFC 6749 6), only for clients that enable refresh tokens.
 * Rotation: each refresh token is used once and replaced. A rotated token presented again means
 * two parties hold it, so the whole family (the grant, with its access tokens) is revoked
 * (OAuth 2.0 Security BCP 4.14.2). The token is bound to the client it was issued to.
 *
 * A refresh re-issues what the sign-in granted; it authenticates nobody. So the new access token
 * states the sign-in's own `auth_time` and `selected_roleid`, kept on the grant (userinfo answers
 * for that role). No ID token is issued: OIDC Core 12.2 makes it optional, and CIS2's refresh
 * responses carry none (cis2.md 6.2).
 */
import type { ClientRecord } from '@careid/ports'
import { randomToken, sha256 } from '../crypto.ts'
import { InvalidGrant, InvalidScope, UnauthorizedClient } from '../errors.ts'
import { spaceList, type Params } from '../params.ts'
import { isLocked } from '../sessions.ts'
import { accessTokenClaims } from '../tokens.ts'
import type { Grant, GrantDeps, TokenResponse } from './grant.ts'

const invalidToken = 'The provided access grant is invalid, expired, or revoked.'

export function refreshTokenGrant(deps: GrantDeps): Grant {
  return {
    grantType: 'refresh_token',
    parameters: ['refresh_token', 'scope'],
    handle: ({ client, params }) => refresh(deps, client, params),
  }
}

async function refresh(deps: GrantDeps, client: ClientRecord, params: Params): Promise<TokenResponse> {
  if (!client.refresh_tokens) throw new UnauthorizedClient('this client does not use refresh tokens')
  const presented = params.require('refresh_token')
  const now = deps.now()
  const hash = sha256(presented)
  const current = await deps.store.refreshTokens.get(hash)
  if (current === undefined || current.client_id !== client.client_id) throw new InvalidGrant(invalidToken)
  const grant = await deps.store.grants.get(current.grant_id)
  if (grant === undefined || grant.revoked_at !== undefined || grant.expires_at <= now) throw new InvalidGrant(invalidToken)
  // A grant stored before its sign-in's facts were kept cannot state them: its client signs in again.
  const signIn = grant.sign_in
  if (signIn === undefined) throw new InvalidGrant(invalidToken, { detail: 'the grant predates the sign-in facts it would need to state' })
  // A locked session (its card removed under a lock policy) issues nothing until the card unlocks
  // it; the grant is kept, so the same refresh token works again once the session is unlocked. A
  // session that has gone has already revoked its grants; a missing one is refused all the same.
  const session = await deps.store.sessions.getBySid(grant.sid)
  if (session === undefined || isLocked(session)) throw new InvalidGrant(invalidToken, { detail: session === undefined ? 'the session ended' : 'the session is locked' })

  const granted = grant.scope.split(' ')
  const requested = spaceList(params.get('scope'))
  // RFC 6749 6: the scope "MUST NOT include any scope not originally granted".
  if (requested.some((s) => !granted.includes(s))) throw new InvalidScope('scope exceeds what was granted')
  const scopes = requested.length > 0 ? requested : granted

  const successor = randomToken(32)
  const outcome = await deps.store.refreshTokens.rotate(hash, { token_hash: sha256(successor), grant_id: grant.grant_id, client_id: client.client_id, created_at: now, expires_at: current.expires_at }, now)
  if (outcome.kind === 'reused') {
    await deps.store.grants.revoke(grant.grant_id, now)
    await deps.store.audit.append({ at: now, type: 'refresh_token.reused', subject: grant.sub, client_id: client.client_id, detail: { grant_id: grant.grant_id } })
    throw new InvalidGrant(invalidToken)
  }
  if (outcome.kind === 'absent') throw new InvalidGrant(invalidToken)

  const accessToken = deps.signer.sign(
    accessTokenClaims({
      issuer: deps.config.issuer,
      realm: deps.realm,
      clientId: client.client_id,
      sub: grant.sub,
      grantId: grant.grant_id,
      grantType: 'refresh_token',
      scopes,
      authTimeMs: signIn.auth_time,
      selectedRoleId: signIn.selected_roleid,
      nowMs: now,
      ttlMs: deps.config.accessTokenTtlMs,
    }),
    'JWT',
  )
  return { access_token: accessToken, token_type: 'Bearer', expires_in: Math.floor(deps.config.accessTokenTtlMs / 1000), scope: scopes.join(' '), refresh_token: successor }
}
