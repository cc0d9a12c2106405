/**
 * Token introspection (RFC 7662) for registered clients. The caller must authenticate (2.1: "the
 * endpoint MUST also require some form of authorization"), so a public client, which has no
 * credentials, gets 401 invalid_client. A client sees only its own tokens: for anything else, or
 * anything invalid, the answer is just `{ "active": false }` (2.2).
 */
import type { Store } from '@careid/ports'
import { verifyAccessToken, type OwnTokenVerifier } from './access_token.ts'
import type { ClientAuthenticator } from './client_auth.ts'
import { sha256 } from './crypto.ts'
import { Params, type RawParams } from './params.ts'

export async function introspect(
  deps: { store: Store; verifier: OwnTokenVerifier; issuer: string; now: () => number; authenticateClient: ClientAuthenticator },
  input: { params: RawParams; authorization?: string | undefined },
): Promise<Record<string, unknown>> {
  const params = new Params(input.params)
  const client = await deps.authenticateClient({ params, authorization: input.authorization }, { allowPublic: false })
  const token = params.require('token')
  params.get('token_type_hint')
  const inactive = { active: false }

  const access = token.includes('.') ? await verifyAccessToken(deps, token) : undefined
  if (access !== undefined) {
    if (access.client_id !== client.client_id) return inactive
    return {
      active: true,
      scope: access.scopes.join(' '),
      client_id: access.client_id,
      sub: access.sub,
      exp: access.exp,
      iat: access.iat,
      iss: deps.issuer,
      jti: access.jti,
      token_type: 'Bearer',
    }
  }
  const refresh = await deps.store.refreshTokens.get(sha256(token))
  const now = deps.now()
  if (refresh === undefined || refresh.client_id !== client.client_id || refresh.rotated_at !== undefined || refresh.expires_at <= now) return inactive
  const grant = await deps.store.grants.get(refresh.grant_id)
  if (grant === undefined || grant.revoked_at !== undefined) return inactive
  return {
    active: true,
    scope: grant.scope,
    client_id: refresh.client_id,
    sub: grant.sub,
    exp: Math.floor(refresh.expires_at / 1000),
    iat: Math.floor(refresh.created_at / 1000),
    iss: deps.issuer,
    token_type: 'refresh_token',
  }
}
