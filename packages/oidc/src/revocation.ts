/**
 * Token revocation (RFC 7009). Revoking a refresh token revokes its grant, and with it every
 * access token issued from that grant (2.1: "SHOULD also invalidate all access tokens based on the
 * same authorization grant"). Revoking an access token revokes that token only. Unknown or foreign
 * tokens get the same 200 (2.2: "invalid tokens do not cause an error response"). A public client
 * revokes by its client_id alone (2.1: the server authenticates the client "if the client is
 * confidential"); it can revoke only tokens issued to it.
 */
import type { Store } from '@careid/ports'
import { verifyAccessToken, type OwnTokenVerifier } from './access_token.ts'
import type { ClientAuthenticator } from './client_auth.ts'
import { sha256 } from './crypto.ts'
import { Params, type RawParams } from './params.ts'

export async function revoke(
  deps: { store: Store; verifier: OwnTokenVerifier; issuer: string; now: () => number; authenticateClient: ClientAuthenticator },
  input: { params: RawParams; authorization?: string | undefined },
): Promise<void> {
  const params = new Params(input.params)
  const client = await deps.authenticateClient({ params, authorization: input.authorization })
  const token = params.require('token')
  params.get('token_type_hint')
  const now = deps.now()

  const access = token.includes('.') ? await verifyAccessToken(deps, token) : undefined
  if (access !== undefined) {
    if (access.client_id === client.client_id) await deps.store.replay.markUsed(`revoked_at:${access.jti}`, access.exp * 1000, now)
    return
  }
  const refresh = await deps.store.refreshTokens.get(sha256(token))
  if (refresh !== undefined && refresh.client_id === client.client_id) {
    await deps.store.grants.revoke(refresh.grant_id, now)
    await deps.store.audit.append({ at: now, type: 'token.revoked', client_id: client.client_id, detail: { grant_id: refresh.grant_id } })
  }
}
