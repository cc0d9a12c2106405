/**
 * When an existing session may answer an authorization request without the person signing in
 * again. Each check names why a sign-in is needed; the first that fires decides.
 */
import type { SessionRecord } from '@careid/ports'
import { satisfiedAcr } from './acr.ts'
import type { AuthorizationRequest } from './authorization_request.ts'
import { isLocked } from './sessions.ts'

export type LoginReason = 'no_session' | 'session_locked' | 'prompt_login' | 'max_age' | 'acr_not_met' | 'different_user'

export function loginReason(request: AuthorizationRequest, session: SessionRecord | undefined, nowMs: number): LoginReason | undefined {
  if (session === undefined) return 'no_session'
  // Its smartcard was removed under a `lock` policy: it answers again once the card is presented.
  if (isLocked(session)) return 'session_locked'
  // OIDC Core 3.1.2.1: login "SHOULD prompt the End-User for reauthentication".
  if (request.prompt.has('login')) return 'prompt_login'
  // max_age: "If the elapsed time is greater than this value, the OP MUST attempt to actively
  // re-authenticate the End-User."
  if (request.max_age !== undefined && nowMs - session.auth_time > request.max_age * 1000) return 'max_age'
  // Step-up: a session at AAL2 does not answer a request for AAL3.
  if (satisfiedAcr(request.acr_values, session.amr, session.aal) === undefined) return 'acr_not_met'
  if (request.id_token_hint_sub !== undefined && request.id_token_hint_sub !== session.sub) return 'different_user'
  return undefined
}
