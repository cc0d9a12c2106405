/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at `/connect/endSession`:
 * - id_token_hint must be an ID token we signed (an expired one is fine: "the OP SHOULD accept
 *   ID Tokens when the RP identified by the ID Token's aud claim ... has a current session or had a
 *   recent session"); anything else, `alg: none` included, is refused with a page;
 * - post_logout_redirect_uri must exactly match one the client registered, and needs the client
 *   to be known (from the hint's aud or client_id), else a page and no redirect;
 * - the session ends (the browser's, and the one the hint's sid names, for server-side calls) and
 *   every relying party in it is sent a back-channel logout.
 */
import type { ClientRegistry } from './clients.ts'
import type { OwnTokenVerifier } from './access_token.ts'
import { withQuery } from './authorization_request.ts'
import { OAuthError } from './errors.ts'
import { Params, type RawParams } from './params.ts'
import type { SessionService } from './sessions.ts'

export type EndSessionOutcome = { type: 'redirect'; location: string } | { type: 'signed_out' } | { type: 'error_page'; error: OAuthError }

class LogoutRefused extends OAuthError {
  constructor(description: string) {
    super('invalid_request', description, 400, { allowRedirect: false })
  }
}

export async function endSession(
  deps: { clients: ClientRegistry; sessions: SessionService; verifier: OwnTokenVerifier; issuer: string },
  input: { params: RawParams; sessionSecret?: string | undefined },
): Promise<EndSessionOutcome> {
  try {
    const params = new Params(input.params)
    const hint = params.get('id_token_hint')
    let hinted: { aud: string; sid?: string | undefined } | undefined
    if (hint !== undefined) {
      const verified = deps.verifier.verify(hint)
      const c = verified?.payload
      if (c === undefined || c.iss !== deps.issuer || c.tokenName !== 'id_token' || typeof c.aud !== 'string') {
        throw new LogoutRefused('id_token_hint is not a valid ID token issued by this provider')
      }
      hinted = { aud: c.aud, sid: typeof c.sid === 'string' ? c.sid : undefined }
    }
    const clientId = params.get('client_id')
    if (clientId !== undefined && hinted !== undefined && clientId !== hinted.aud) throw new LogoutRefused('client_id does not match id_token_hint')

    const postLogout = params.get('post_logout_redirect_uri')
    const state = params.get('state')
    let location: string | undefined
    if (postLogout !== undefined) {
      const owner = hinted?.aud ?? clientId
      if (owner === undefined) throw new LogoutRefused('post_logout_redirect_uri needs id_token_hint or client_id')
      const client = await deps.clients.get(owner)
      if (client === undefined || !client.post_logout_redirect_uris.includes(postLogout)) {
        throw new LogoutRefused('post_logout_redirect_uri is not registered for this client')
      }
      location = withQuery(postLogout, { state })
    }

    const current = await deps.sessions.resolve(input.sessionSecret)
    if (current !== undefined) await deps.sessions.end(current, 'logout')
    if (hinted?.sid !== undefined && hinted.sid !== current?.sid) await deps.sessions.endBySid(hinted.sid, 'logout')
    return location === undefined ? { type: 'signed_out' } : { type: 'redirect', location }
  } catch (error) {
    if (error instanceof OAuthError) return { type: 'error_page', error: error.allowRedirect ? new LogoutRefused(error.error_description) : error }
    throw error
  }
}
