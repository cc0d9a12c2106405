/**
 * What registration and sign-in check alike, before the library checks signatures: the answer
 * parses, it answers this ceremony's challenge (once, in time), it was made for Careid's origin and
 * RP ID, and the authenticator verified the user. Each refusal names its reason; those that point at
 * an attack are audited by the caller.
 */
import { createHash } from 'node:crypto'
import { sha256 } from '@careid/oidc'
import type { AuditLog, AuthenticationError, Json, ReplayCache } from '@careid/ports'
import { decodeClientDataJSON, parseAuthenticatorData } from '@simplewebauthn/server/helpers'

/** How long a ceremony's options stay good: the browser's own timeout, and a little to post the answer. */
export const ceremonyTimeoutMs = 120_000
export const challengeTtlMs = ceremonyTimeoutMs + 30_000

/** The relying party as WebAuthn sees Careid: RP ID the issuer's host name, origin the issuer's. */
export interface RelyingParty {
  id: string
  origin: string
  name: string
}

export function relyingPartyOf(issuer: string, name: string): RelyingParty {
  const url = new URL(issuer)
  return { id: url.hostname, origin: url.origin, name }
}

/** The refusals of the WebAuthn ceremonies. */
export type WebAuthnRefusal = Extract<AuthenticationError, 'webauthn_cancelled' | 'unknown_credential' | 'counter_regression' | 'wrong_origin' | 'challenge_replayed' | 'user_not_verified' | 'attestation_not_trusted'>

/** The refusals the checks both ceremonies share make (`checkAnswer`). */
export type AnswerRefusal = Extract<WebAuthnRefusal, 'webauthn_cancelled' | 'wrong_origin' | 'challenge_replayed' | 'user_not_verified'>

/** A ceremony in progress: its challenge and when it stops being answerable. */
export interface CeremonyState {
  challenge: string
  exp: number
}

export function isCeremonyState(state: Json): state is CeremonyState & { [key: string]: Json } {
  return typeof state === 'object' && state !== null && !Array.isArray(state) && typeof state['challenge'] === 'string' && typeof state['exp'] === 'number'
}

export interface CeremonyAnswer<R> {
  /** The browser's answer, as @simplewebauthn/browser returns it. */
  response: R
  /** The credential id it names (base64url). */
  credentialId: string
  authData: ReturnType<typeof parseAuthenticatorData>
}

export type Checked<R> = { ok: true; answer: CeremonyAnswer<R> } | { ok: false; reason: AnswerRefusal; audit?: { [key: string]: Json } | undefined; credentialId?: string | undefined }

/** The largest answer taken: a credential id is at most 1023 bytes, an attestation a few kilobytes. */
const maxAnswerLength = 65_536

/**
 * Parses and checks the posted answer (`response`, a JSON PublicKeyCredential) to `state`'s
 * challenge for `type` (`webauthn.create` or `webauthn.get`). Any answer to the challenge uses it
 * up: a second answer is `challenge_replayed`.
 */
export async function checkAnswer<R extends { id: string; response: { clientDataJSON: string } }>(
  posted: string | undefined,
  type: 'webauthn.create' | 'webauthn.get',
  state: CeremonyState,
  rp: RelyingParty,
  replay: Pick<ReplayCache, 'markUsed'>,
  now: number,
  authDataOf: (response: R) => string | undefined,
): Promise<Checked<R>> {
  if (posted === undefined || posted === '' || posted.length > maxAnswerLength) return { ok: false, reason: 'webauthn_cancelled' }
  let response: R
  let clientData: { type?: unknown; challenge?: unknown; origin?: unknown; crossOrigin?: unknown; topOrigin?: unknown }
  let authData: ReturnType<typeof parseAuthenticatorData>
  try {
    response = JSON.parse(posted) as R
    if (typeof response?.id !== 'string' || typeof response.response?.clientDataJSON !== 'string') return { ok: false, reason: 'webauthn_cancelled' }
    clientData = decodeClientDataJSON(response.response.clientDataJSON)
    const encodedAuthData = authDataOf(response)
    if (encodedAuthData === undefined) return { ok: false, reason: 'webauthn_cancelled' }
    authData = parseAuthenticatorData(Buffer.from(encodedAuthData, 'base64url'))
  } catch {
    return { ok: false, reason: 'webauthn_cancelled' }
  }
  const credentialId = response.id
  if (clientData.type !== type) return { ok: false, reason: 'webauthn_cancelled' }
  // WebAuthn L3 7.1 step 11 / 7.2 step 12: "Verify that the value of C.challenge equals the
  // base64url encoding of pkOptions.challenge." An answer to another challenge is a replay.
  if (clientData.challenge !== state.challenge) return { ok: false, reason: 'challenge_replayed', credentialId, audit: { why: 'another challenge' } }
  if (state.exp <= now) return { ok: false, reason: 'challenge_replayed', credentialId, audit: { why: 'expired' } }
  if (!(await replay.markUsed(`webauthn-challenge:${sha256(state.challenge)}`, state.exp + challengeTtlMs, now))) {
    return { ok: false, reason: 'challenge_replayed', credentialId, audit: { why: 'already answered' } }
  }
  // 7.2 step 13: "Verify that the value of C.origin is an origin expected by the Relying Party."
  if (clientData.origin !== rp.origin || clientData.crossOrigin === true || clientData.topOrigin !== undefined) {
    return { ok: false, reason: 'wrong_origin', credentialId, audit: { origin: typeof clientData.origin === 'string' ? clientData.origin.slice(0, 200) : null } }
  }
  // 7.2 step 15: "Verify that the rpIdHash in authData is the SHA-256 hash of the RP ID expected by the Relying Party."
  if (!Buffer.from(authData.rpIdHash).equals(createHash('sha256').update(rp.id).digest())) return { ok: false, reason: 'wrong_origin', credentialId, audit: { why: 'rp id hash' } }
  // 7.2 steps 16-17: user present, and "If user verification is required ... verify that the UV bit of the flags in authData is set."
  if (!authData.flags.up || !authData.flags.uv) return { ok: false, reason: 'user_not_verified', credentialId, audit: { up: authData.flags.up, uv: authData.flags.uv } }
  return { ok: true, answer: { response, credentialId, authData } }
}

/** Audits a refusal that points at an attack (the caller decides which). */
export async function auditRefusal(
  audit: Pick<AuditLog, 'append'>,
  at: number,
  ceremony: 'sign_in' | 'registration',
  method: string,
  reason: WebAuthnRefusal | 'method_not_accepted',
  subject: string | undefined,
  detail: { [key: string]: Json } = {},
): Promise<void> {
  await audit.append({ at, type: `webauthn.${reason}`, subject, detail: { ceremony, method, ...detail } })
}
