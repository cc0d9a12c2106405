/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at `/connect/endSession`:
 * - id_token_hint must be an ID token we signed (an expired one is fine: "the OP SHOULD accept
 *   ID Tokens when the RP identified by the ID Token's aud claim ... has a current session or had a
 *   recent session"); anything else, `alg: none` included, is refused with a page;
 * - post_logout_redirect_uri must exactly match one the client registered, and needs the client
 *   to be known (from the hint's aud or client_id), else a page and no redirect;
 * - with a valid hint the session ends at once (the browser's, and the one the hint's sid names, for
 *   server-side calls) and every relying party in it is sent a back-channel logout;
 * - without a hint, nothing says which application asks, and any web page could send the browser
 *   here: "the OP SHOULD ask the End-User whether to log out of the OP as well" (2), so a browser
 *   with a live session is asked first. Its answer is a form posted back here with the request's
 *   parameters and a token derived from the session secret, which a page elsewhere cannot know
 *   ("logout requests without a valid id_token_hint value are a potential means of denial of
 *   service", 6). Without a session there is nothing to end, and nothing to ask.
 */
import { createHmac } from 'node:crypto'
import type { ClientRegistry } from './clients.ts'
import type { OwnTokenVerifier } from './access_token.ts'
import { withQuery } from './authorization_request.ts'
import { safeEqual } from './crypto.ts'
import { OAuthError } from './errors.ts'
import { Params, type RawParams } from './params.ts'
import type { SessionService } from './sessions.ts'

/** The request's parameters the confirmation form carries through, as posted back. */
export interface LogoutRequestFields {
  client_id?: string | undefined
  post_logout_redirect_uri?: string | undefined
  state?: string | undefined
}

export type EndSessionOutcome =
  | { type: 'redirect'; location: string }
  | { type: 'signed_out' }
  /**
   * Ask the worker: `csrf` and `fields` go back in the form. `formTargets` are the origins the
   * form's redirect may end at (CSP form-action applies to the whole redirect chain).
   */
  | { type: 'confirm'; csrf: string; fields: LogoutRequestFields; client_name?: string | undefined; formTargets: string[] }
  | { type: 'error_page'; error: OAuthError }

export interface EndSessionInput {
  params: RawParams
  sessionSecret?: string | undefined
  /** Present when the worker posted the confirmation form: the token it carried. */
  confirmation?: { csrf: string | undefined } | undefined
}

/** The confirmation's anti-forgery token: bound to this browser's session secret, useless without it. */
function confirmationToken(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('careid end-session confirmation').digest('base64url')
}

class LogoutRefused extends OAuthError {
  constructor(description: string) {
    super('invalid_request', description, 400, { allowRedirect: false })
  }
}

export async function endSession(
  deps: { clients: ClientRegistry; sessions: SessionService; verifier: OwnTokenVerifier; issuer: string },
  input: EndSessionInput,
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
    let clientName: string | undefined
    if (postLogout !== undefined) {
      const owner = hinted?.aud ?? clientId
      if (owner === undefined) throw new LogoutRefused('post_logout_redirect_uri needs id_token_hint or client_id')
      const client = await deps.clients.get(owner)
      if (client === undefined || !client.post_logout_redirect_uris.includes(postLogout)) {
        throw new LogoutRefused('post_logout_redirect_uri is not registered for this client')
      }
      location = withQuery(postLogout, { state })
      clientName = client.client_name
    }

    if (hinted === undefined && input.confirmation !== undefined) {
      const { csrf } = input.confirmation
      const expected = input.sessionSecret === undefined ? undefined : confirmationToken(input.sessionSecret)
      if (csrf === undefined || expected === undefined || !safeEqual(csrf, expected)) {
        throw new LogoutRefused('the sign-out could not be confirmed: go back to the application and sign out again')
      }
    }
    const current = await deps.sessions.resolve(input.sessionSecret)
    if (hinted === undefined && input.confirmation === undefined && current !== undefined && input.sessionSecret !== undefined) {
      const fields = { client_id: clientId, post_logout_redirect_uri: postLogout, state }
      clientName ??= clientId === undefined ? undefined : (await deps.clients.get(clientId))?.client_name
      const formTargets = postLogout === undefined ? [] : [new URL(postLogout).origin]
      return { type: 'confirm', csrf: confirmationToken(input.sessionSecret), fields, client_name: clientName, formTargets }
    }
    if (current !== undefined) await deps.sessions.end(current, 'logout')
    if (hinted?.sid !== undefined && hinted.sid !== current?.sid) await deps.sessions.endBySid(hinted.sid, 'logout')
    return location === undefined ? { type: 'signed_out' } : { type: 'redirect', location }
  } catch (error) {
    if (error instanceof OAuthError) return { type: 'error_page', error: error.allowRedirect ? new LogoutRefused(error.error_description) : error }
    throw error
  }
}
