/**
 * Signing in with a WebAuthn credential of one kind, usernameless: the page asks the browser for
 * any discoverable credential for Careid's RP ID (empty allowCredentials), so the page reveals
 * nothing of who holds which key, and the answer names its credential. User verification is
 * required (without it a passkey is one factor). The credential's level is the one decided at its
 * registration, capped at AAL2 if it now reports backup eligibility.
 */
import { randomBytes } from 'node:crypto'
import type { Authenticator, AuthenticatorContext, Json, StepResult, StepView, WebAuthnContext } from '@careid/ports'
import { generateAuthenticationOptions, verifyAuthenticationResponse, type AuthenticationResponseJSON } from '@simplewebauthn/server'
import { auditRefusal, ceremonyTimeoutMs, challengeTtlMs, checkAnswer, isCeremonyState, type CeremonyState, type RelyingParty, type WebAuthnRefusal } from './ceremony.ts'
import { stateJson, webAuthnState, type WebAuthnCredentialState } from './credentials.ts'
import { kindProfiles, type WebAuthnKind } from './kinds.ts'
import { webAuthnPage, type WebAuthnSignInError } from './pages.ts'

/** Refusals worth an audit entry: they point at a cloned key, a phishing page or a replay. */
const audited: ReadonlySet<WebAuthnRefusal> = new Set(['counter_regression', 'wrong_origin', 'challenge_replayed', 'user_not_verified'])

/** How often a sign-in re-reads its credential when another sign-in with it wrote first. */
const maxCasAttempts = 5

export function webAuthnAuthenticator(kind: WebAuthnKind, rp: RelyingParty): Authenticator<WebAuthnContext> {
  const { method } = kindProfiles[kind]

  async function fresh(now: number, error?: WebAuthnSignInError): Promise<{ state: Json; view: StepView<'webauthn'> }> {
    const challenge = randomBytes(32).toString('base64url')
    const options = await generateAuthenticationOptions({ rpID: rp.id, challenge: Buffer.from(challenge, 'base64url'), timeout: ceremonyTimeoutMs, userVerification: 'required', allowCredentials: [] })
    const state: CeremonyState = { challenge, exp: now + challengeTtlMs }
    return { state: { ...state }, view: { page: 'webauthn', error, data: { kind, options: JSON.stringify(options) } } }
  }

  async function refuse(ctx: AuthenticatorContext & WebAuthnContext, reason: WebAuthnRefusal, uid: string | undefined, detail: { [key: string]: Json } = {}): Promise<StepResult> {
    if (audited.has(reason)) await auditRefusal(ctx.audit, ctx.now, 'sign_in', method.id, reason, uid, detail)
    return { type: 'failure', reason, ...(await fresh(ctx.now, reason === 'attestation_not_trusted' ? 'unknown_credential' : reason)) }
  }

  return {
    method,
    pages: [webAuthnPage],
    start: (ctx) => fresh(ctx.now),
    async submit(ctx, raw, input) {
      if (!isCeremonyState(raw)) return { type: 'continue', ...(await fresh(ctx.now)) }
      const checked = await checkAnswer<AuthenticationResponseJSON>(input.response, 'webauthn.get', raw, rp, ctx.replay, ctx.now, (r) => r.response?.authenticatorData)
      if (!checked.ok) {
        const record = checked.credentialId === undefined ? undefined : await ctx.credentials.get(checked.credentialId)
        return refuse(ctx, checked.reason, record?.uid, { ...checked.audit, ...(checked.credentialId === undefined ? {} : { credential: checked.credentialId.slice(0, 200) }) })
      }
      const { response, credentialId, authData } = checked.answer
      let record = await ctx.credentials.get(credentialId)
      let stored = webAuthnState(record)
      // A credential of another kind does not sign in through this method (its level and amr are its kind's).
      if (record === undefined || stored === undefined || stored.webauthn_kind !== kind) return refuse(ctx, 'unknown_credential', undefined)
      // WebAuthn L3 7.2 step 6: the user handle, when given, must be the one registered with the credential.
      const userHandle = response.response.userHandle
      if (userHandle !== undefined && userHandle !== stored.user_handle) return refuse(ctx, 'unknown_credential', undefined)
      let verified
      try {
        // The counter is judged below, once the signature proves the answer came from the key.
        const result = await verifyAuthenticationResponse({
          response,
          expectedChallenge: raw.challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          credential: { id: record.id, publicKey: Buffer.from(record.secret, 'base64url'), counter: 0, transports: stored.transports as never },
          requireUserVerification: true,
        })
        verified = result.verified
      } catch {
        verified = false
      }
      if (!verified) return refuse(ctx, 'unknown_credential', undefined)
      const counter = authData.counter
      for (let attempt = 0; attempt < maxCasAttempts; attempt++) {
        // WebAuthn L3 7.2 step 21: a counter that does not exceed the stored one (either being
        // non-zero) "is a signal that the authenticator may be cloned".
        if ((counter > 0 || stored.counter > 0) && counter <= stored.counter) {
          return refuse(ctx, 'counter_regression', record.uid, { credential: record.id.slice(0, 200), stored_counter: stored.counter, received_counter: counter })
        }
        const next: WebAuthnCredentialState = { ...stored, counter, backup_eligible: stored.backup_eligible || authData.flags.be, backed_up: authData.flags.bs, last_used_at: ctx.now }
        if (await ctx.credentials.updateState(record.id, record.version, stateJson(next))) {
          // Registered at AAL3 but now backup eligible: its key may have left the device.
          const aal = next.backup_eligible ? 2 : stored.level
          return { type: 'success', uid: record.uid, amr: [method.amr], aal }
        }
        record = await ctx.credentials.get(credentialId)
        stored = webAuthnState(record)
        if (record === undefined || stored === undefined) return refuse(ctx, 'unknown_credential', undefined)
      }
      throw new Error('WebAuthn credential state kept changing under this sign-in')
    },
  }
}
