/**
 * The authorization endpoint (GET and POST; OIDC Core 3.1.2.1 "MUST support the use of the HTTP
 * GET and POST methods"). Validates the request, then either answers at once from the SSO session
 * or starts a sign-in journey (an interaction) bound to this browser.
 */
import { StoreUnavailable, type SessionRecord, type Store } from '@careid/ports'
import { parsePerson, type Person } from '@careid/domain'
import { errorRedirect, resolveRedirect, validateRequest, type AuthorizationRequest, type TrustedRedirect } from './authorization_request.ts'
import { decideRole, issueCode, SessionNotLive } from './authorization_response.ts'
import type { ClientRegistry } from './clients.ts'
import type { ProviderConfig } from './config.ts'
import { randomToken, sha256 } from './crypto.ts'
import { InteractionRequired, LoginRequired, OAuthError, ServerError, TemporarilyUnavailable } from './errors.ts'
import { encodeJourneyState, newJourneyState, type InteractionStage } from './journey_state.ts'
import { loginReason } from './login_policy.ts'
import { Params, type RawParams } from './params.ts'
import type { SessionService } from './sessions.ts'

export type AuthorizeOutcome =
  /** `error`: the error the location sends to the client's redirect URI, if it sends one. */
  | { type: 'redirect'; location: string; error?: OAuthError | undefined }
  /** An error that must not be redirected: shown as a page. */
  | { type: 'error_page'; error: OAuthError }
  /** A sign-in journey: send the browser to it; `browserSecret` is set as a cookie if new. */
  | { type: 'interaction'; interactionId: string; browserSecret: string }

export interface AuthorizeInput {
  params: RawParams
  sessionSecret?: string | undefined
  /** The browser's interaction-binding cookie, if it has one. */
  browserSecret?: string | undefined
}

export interface AuthorizeDeps {
  store: Store
  clients: ClientRegistry
  sessions: SessionService
  config: ProviderConfig
  now: () => number
  hintSubject(idTokenHint: string): string | undefined
}

export async function loadPerson(store: Store, uid: string): Promise<Person | undefined> {
  const json = await store.people.get(uid)
  return json === undefined ? undefined : parsePerson(json)
}

/** Starts a journey stage for this browser; returns the interaction id. */
export async function startInteraction(
  deps: AuthorizeDeps,
  request: AuthorizationRequest,
  stage: InteractionStage,
  browserSecret: string,
  session?: SessionRecord,
): Promise<string> {
  const id = randomToken(16)
  await deps.store.interactions.put({
    id,
    expires_at: deps.now() + deps.config.interactionTtlMs,
    payload: encodeJourneyState(newJourneyState(request, { browser: sha256(browserSecret), csrf: randomToken(16), stage, session: session?.session_hash })),
  })
  return id
}

export async function authorize(deps: AuthorizeDeps, input: AuthorizeInput): Promise<AuthorizeOutcome> {
  const params = new Params(input.params)
  let trusted: TrustedRedirect
  try {
    trusted = await resolveRedirect(params, deps.clients)
  } catch (error) {
    return { type: 'error_page', error: asOAuthError(error) }
  }
  try {
    const request = validateRequest(params, trusted, deps)
    const session = await deps.sessions.resolve(input.sessionSecret)
    const browserSecret = input.browserSecret ?? randomToken(32)

    if (loginReason(request, session, deps.now()) !== undefined || session === undefined) {
      // OIDC Core 3.1.2.1: with prompt=none "the Authorization Server MUST NOT display any
      // authentication or consent user interface pages"; login_required when it would have to.
      if (request.prompt.has('none')) throw new LoginRequired('the End-User must sign in')
      return { type: 'interaction', interactionId: await startInteraction(deps, request, 'login', browserSecret), browserSecret }
    }

    const person = await loadPerson(deps.store, session.sub)
    if (person === undefined) {
      await deps.sessions.end(session, 'admin')
      throw new LoginRequired('the End-User must sign in')
    }
    const role = decideRole(request, session, person)
    if (role.kind === 'ask') {
      if (request.prompt.has('none')) throw new InteractionRequired('the End-User must choose a role')
      return { type: 'interaction', interactionId: await startInteraction(deps, request, 'select_role', browserSecret, session), browserSecret }
    }
    if (role.kind === 'auto') {
      await deps.store.sessions.setSelectedRole(session.session_hash, role.roleId)
      session.selected_roleid = role.roleId
    }
    try {
      const location = await issueCode({ store: deps.store, sessions: deps.sessions, config: deps.config, now: deps.now, request, session, person })
      return { type: 'redirect', location }
    } catch (error) {
      // Locked or ended since it was read: the person signs in again, as without a session.
      if (!(error instanceof SessionNotLive) || request.prompt.has('none')) throw error
      return { type: 'interaction', interactionId: await startInteraction(deps, request, 'login', browserSecret), browserSecret }
    }
  } catch (error) {
    const oauth = asOAuthError(error)
    if (!oauth.allowRedirect) return { type: 'error_page', error: oauth }
    return { type: 'redirect', location: errorRedirect(trusted, oauth, deps.config.issuer), error: oauth }
  }
}

/**
 * The protocol error for anything a step threw. A store that did not answer is
 * `temporarily_unavailable` (503), which RFC 6749 4.1.2.1 defines for exactly this, so the client
 * or the browser tries again rather than seeing a server error; anything else unexpected is
 * `server_error`. The original message goes to `detail`, for logs only.
 */
export function asOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error
  if (error instanceof StoreUnavailable) return new TemporarilyUnavailable('the service is temporarily unavailable, try again shortly', { detail: error.message })
  return new ServerError(error instanceof Error ? error.message : String(error))
}
