/**
 * Finishing an authorization once a live session meets the request: role selection when asked
 * for, then a single-use code bound to the client, the redirect URI and the PKCE challenge, and
 * the redirect with `code`, `state` and `iss` (RFC 9207).
 */
import type { SessionRecord, Store } from '@careid/ports'
import { findPosition, idTokenPersonClaims, type Person } from '@careid/domain'
import { satisfiedAcr } from './acr.ts'
import type { AuthorizationRequest } from './authorization_request.ts'
import { redirectTo } from './authorization_request.ts'
import type { ProviderConfig } from './config.ts'
import { encodeCodePayload, type CodePayload } from './code_payload.ts'
import { randomToken, sha256 } from './crypto.ts'
import { LoginRequired } from './errors.ts'
import type { SessionService } from './sessions.ts'
import type { AuthenticationFacts } from './tokens.ts'

/** Role selection is asked for by `selectedrole`, or `changedrole` to choose again (cis2.md 3.5). */
export function roleRequested(request: Pick<AuthorizationRequest, 'scopes'>): boolean {
  return request.scopes.includes('selectedrole') || request.scopes.includes('changedrole')
}

export type RoleDecision = { kind: 'none' } | { kind: 'keep' } | { kind: 'auto'; roleId: string } | { kind: 'ask' }

/**
 * - not requested, or the person holds no role: nothing to select (no selected_roleid);
 * - one role: selected automatically;
 * - a role already chosen in this session: kept, unless `changedrole` asks to choose again;
 * - otherwise: ask.
 */
export function decideRole(request: AuthorizationRequest, session: SessionRecord, person: Person): RoleDecision {
  if (!roleRequested(request) || person.positions.length === 0) return { kind: 'none' }
  const only = person.positions.length === 1 ? person.positions[0] : undefined
  if (only !== undefined) return session.selected_roleid === only.person_roleid ? { kind: 'keep' } : { kind: 'auto', roleId: only.person_roleid }
  const chosen = session.selected_roleid !== undefined && findPosition(person, session.selected_roleid) !== undefined
  if (chosen && !request.scopes.includes('changedrole')) return { kind: 'keep' }
  return { kind: 'ask' }
}

/**
 * The session that was to answer can no longer: it ended, timed out, was locked (its card removed)
 * or re-authenticated since it was read. `login_required` where nothing may be shown (prompt=none);
 * a sign-in journey goes back to sign-in instead.
 */
export class SessionNotLive extends LoginRequired {
  constructor() {
    super('the End-User must sign in again')
  }
}

/**
 * Issues a code from `session`, re-read from the store first: a lock, logout or timeout that
 * landed since the session was looked up (a role page left open while the card was removed)
 * issues nothing.
 */
export async function issueCode(deps: {
  store: Store
  sessions: Pick<SessionService, 'current'>
  config: ProviderConfig
  now: () => number
  request: AuthorizationRequest
  session: Pick<SessionRecord, 'session_hash'>
  person: Person
}): Promise<string> {
  const { request, config } = deps
  const session = await deps.sessions.current(deps.session.session_hash)
  if (session === undefined) throw new SessionNotLive()
  const acr = satisfiedAcr(request.acr_values, session.amr, session.aal)
  // Callers only get here when the session meets the request; this guards the invariant.
  if (acr === undefined) throw new LoginRequired('the session does not meet the requested acr_values')
  const includeRole = roleRequested(request) || session.amr.includes('N3_SMARTCARD')
  const facts: AuthenticationFacts = {
    sub: session.sub,
    sid: session.sid,
    acr,
    amr: session.amr,
    aal: session.aal,
    auth_time: session.auth_time,
    id_assurance_level: idTokenPersonClaims(deps.person).id_assurance_level,
    selected_roleid: includeRole ? session.selected_roleid : undefined,
  }
  const payload: CodePayload = {
    redirect_uri_given: request.redirect_uri_given,
    scopes: request.scopes,
    nonce: request.nonce,
    code_challenge: request.code_challenge,
    state: request.state,
    facts,
  }
  const code = randomToken(32)
  const t = deps.now()
  await deps.store.codes.save({
    code_hash: sha256(code),
    client_id: request.client.client_id,
    redirect_uri: request.redirect_uri,
    grant_id: randomToken(16),
    expires_at: t + config.codeTtlMs,
    payload: encodeCodePayload(payload),
  })
  // The relying party now takes part in the session: it is owed a back-channel logout at its end.
  if (!session.clients.includes(request.client.client_id)) await deps.store.sessions.addClient(session.session_hash, request.client.client_id)
  return redirectTo(request.redirect_uri, { code, state: request.state }, config.issuer)
}
