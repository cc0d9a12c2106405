/**
 * The tokens Careid signs, shaped as CIS2 (ForgeRock AM) issues them (cis2.md 3.4, 3.7, 1.5):
 * - ID token: the OIDC claims plus ForgeRock's extras, assurance levels as strings, at_hash /
 *   c_hash / s_hash, `sid`, and `selected_roleid` when a role was selected.
 * - Access token: a JWT signed with the same keys, carrying `iss` and no `aud`, in ForgeRock's
 *   stateless-token shape; `authGrantId` ties it to the grant so revoking the grant revokes it.
 */
import { randomUUID } from 'node:crypto'
import type { SignInFacts } from '@careid/ports'
import { randomToken } from './crypto.ts'

export interface TokenSigner {
  /** Signs with the active key; synchronous (node:crypto). */
  sign(payload: Record<string, unknown>, typ: string): string
  /** at_hash / c_hash / s_hash for the active key's algorithm (OIDC Core 3.1.3.6). */
  halfHash(value: string): string
}

/**
 * What the sign-in established, carried in the code from /authorize to /access_token: who, in which
 * session, and the facts the grant keeps for every token issued from it later.
 */
export interface AuthenticationFacts extends SignInFacts {
  sub: string
  sid: string
}

/** The part of the facts a grant keeps, so every token issued from it later states the same. */
export function signInFacts(facts: AuthenticationFacts): SignInFacts {
  const kept: SignInFacts = {
    acr: facts.acr,
    amr: facts.amr,
    aal: facts.aal,
    auth_time: facts.auth_time,
    id_assurance_level: facts.id_assurance_level,
  }
  if (facts.selected_roleid !== undefined) kept.selected_roleid = facts.selected_roleid
  return kept
}

export function auditTrackingId(): string {
  return `${randomUUID()}-${Math.floor(Math.random() * 1e7)}`
}

export function idTokenClaims(input: {
  issuer: string
  realm: string
  clientId: string
  facts: AuthenticationFacts
  nonce?: string | undefined
  accessToken: string
  code?: string | undefined
  state?: string | undefined
  nowMs: number
  ttlMs: number
  signer: TokenSigner
}): Record<string, unknown> {
  const { facts, signer } = input
  const iat = Math.floor(input.nowMs / 1000)
  const claims: Record<string, unknown> = {
    at_hash: signer.halfHash(input.accessToken),
    sub: facts.sub,
    auditTrackingId: auditTrackingId(),
    amr: facts.amr,
    iss: input.issuer,
    tokenName: 'id_token',
    aud: input.clientId,
    acr: facts.acr,
    'org.forgerock.openidconnect.ops': randomToken(16),
    azp: input.clientId,
    auth_time: Math.floor(facts.auth_time / 1000),
    realm: input.realm,
    exp: iat + Math.floor(input.ttlMs / 1000),
    tokenType: 'JWTToken',
    iat,
    sid: facts.sid,
    id_assurance_level: facts.id_assurance_level,
    authentication_assurance_level: String(facts.aal),
  }
  if (input.nonce !== undefined) claims.nonce = input.nonce
  if (input.code !== undefined) claims.c_hash = signer.halfHash(input.code)
  if (input.state !== undefined) claims.s_hash = signer.halfHash(input.state)
  if (facts.selected_roleid !== undefined) claims.selected_roleid = facts.selected_roleid
  return claims
}

export interface AccessTokenClaims {
  sub: string
  iss: string
  client_id: string
  authGrantId: string
  scope: string[]
  auth_time: number
  exp: number
  iat: number
  jti: string
  selected_roleid?: string
}

export function accessTokenClaims(input: {
  issuer: string
  realm: string
  clientId: string
  sub: string
  grantId: string
  grantType: string
  scopes: string[]
  authTimeMs: number
  selectedRoleId?: string | undefined
  nowMs: number
  ttlMs: number
}): Record<string, unknown> {
  const iat = Math.floor(input.nowMs / 1000)
  const expiresIn = Math.floor(input.ttlMs / 1000)
  const claims: Record<string, unknown> = {
    sub: input.sub,
    cts: 'OAUTH2_STATELESS_GRANT',
    auditTrackingId: auditTrackingId(),
    subname: input.sub,
    iss: input.issuer,
    tokenName: 'access_token',
    token_type: 'Bearer',
    authGrantId: input.grantId,
    client_id: input.clientId,
    nbf: iat,
    grant_type: input.grantType,
    scope: input.scopes,
    auth_time: Math.floor(input.authTimeMs / 1000),
    realm: input.realm,
    exp: iat + expiresIn,
    iat,
    expires_in: expiresIn,
    jti: randomToken(16),
  }
  if (input.selectedRoleId !== undefined) claims.selected_roleid = input.selectedRoleId
  return claims
}
