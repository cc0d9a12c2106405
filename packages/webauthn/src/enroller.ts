/**
 * Registering a WebAuthn credential of one kind from the account area (a person's session, or an RA
 * enrolment code): a discoverable credential (so sign-in needs no username), user verification
 * required, attestation asked for (`direct`) and judged offline (`decideLevel`). A security key or
 * Windows Hello that cannot reach AAL3 is refused (`attestation_not_trusted`); a passkey is kept at
 * the level it reaches. A credential above the grant's `maxAal` is refused (`method_not_accepted`).
 */
import { randomBytes } from 'node:crypto'
import type { EnrolmentContext, EnrolmentResult, Enroller, Json, StepView, WebAuthnContext } from '@careid/ports'
import { generateRegistrationOptions, verifyRegistrationResponse, type RegistrationResponseJSON } from '@simplewebauthn/server'
import { decodeAttestationObject } from '@simplewebauthn/server/helpers'
import { attestationFacts, decideLevel } from './attestation.ts'
import { auditRefusal, ceremonyTimeoutMs, challengeTtlMs, checkAnswer, isCeremonyState, type RelyingParty, type WebAuthnRefusal } from './ceremony.ts'
import { stateJson, webAuthnCredentialsOf, type WebAuthnCredentialState } from './credentials.ts'
import { kindProfiles, WEBAUTHN_CREDENTIAL, type WebAuthnKind } from './kinds.ts'
import { webAuthnRegisterPage, type WebAuthnRegisterError } from './pages.ts'
import type { AttestationTrust } from './trust.ts'

type RegisterState = { challenge: string; exp: number; user_handle: string }

const audited: ReadonlySet<WebAuthnRefusal> = new Set(['wrong_origin', 'challenge_replayed', 'user_not_verified', 'attestation_not_trusted'])

export function webAuthnEnroller(kind: WebAuthnKind, rp: RelyingParty, trust: () => AttestationTrust): Enroller<WebAuthnContext> {
  const profile = kindProfiles[kind]
  const { method } = profile

  async function fresh(ctx: EnrolmentContext & WebAuthnContext, error?: WebAuthnRegisterError): Promise<{ state: Json; view: StepView<'webauthn_register'> }> {
    const existing = await webAuthnCredentialsOf(ctx.credentials, ctx.grant.uid)
    // One user handle per person: an authenticator keeps one discoverable credential per RP and
    // handle, and `excludeCredentials` stops it registering twice.
    const userHandle = existing[0]?.state.user_handle ?? randomBytes(32).toString('base64url')
    const challenge = randomBytes(32).toString('base64url')
    const options = await generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: ctx.username,
      userDisplayName: ctx.display_name,
      userID: Buffer.from(userHandle, 'base64url'),
      challenge: Buffer.from(challenge, 'base64url'),
      timeout: ceremonyTimeoutMs,
      attestationType: 'direct',
      excludeCredentials: existing.map(({ record, state }) => ({ id: record.id, transports: state.transports })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required', ...(profile.attachment === undefined ? {} : { authenticatorAttachment: profile.attachment }) },
      ...(profile.preferred === undefined ? {} : { preferredAuthenticatorType: profile.preferred }),
    })
    const state: RegisterState = { challenge, exp: ctx.now + challengeTtlMs, user_handle: userHandle }
    return { state, view: { page: 'webauthn_register', error, data: { kind, options: JSON.stringify(options), max_aal: ctx.grant.maxAal } } }
  }

  async function refuse(ctx: EnrolmentContext & WebAuthnContext, reason: WebAuthnRegisterError, detail: { [key: string]: Json } = {}): Promise<EnrolmentResult> {
    if ((audited as ReadonlySet<string>).has(reason)) await auditRefusal(ctx.audit, ctx.now, 'registration', method.id, reason as WebAuthnRefusal, ctx.grant.uid, detail)
    return { type: 'failure', reason, ...(await fresh(ctx, reason)) }
  }

  return {
    method: method.id,
    label: method.label,
    description: method.description,
    maxAal: method.aal,
    pages: [webAuthnRegisterPage],
    start: (ctx) => fresh(ctx),
    async submit(ctx, raw, input) {
      if (!isCeremonyState(raw) || typeof raw['user_handle'] !== 'string') return { type: 'continue', ...(await fresh(ctx)) }
      const userHandle = raw['user_handle']
      const checked = await checkAnswer<RegistrationResponseJSON>(input.response, 'webauthn.create', raw, rp, ctx.replay, ctx.now, authDataOfAttestation)
      if (!checked.ok) return refuse(ctx, checked.reason === 'counter_regression' ? 'webauthn_cancelled' : checked.reason, checked.audit)
      const { response, credentialId, authData } = checked.answer
      let info
      try {
        const verified = await verifyRegistrationResponse({ response, expectedChallenge: raw.challenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: true })
        info = verified.verified ? verified.registrationInfo : undefined
      } catch (error) {
        return refuse(ctx, 'attestation_not_trusted', { why: (error as Error).message.slice(0, 200) })
      }
      if (info === undefined) return refuse(ctx, 'attestation_not_trusted', { why: 'attestation signature' })
      const facts = attestationFacts(response.response.attestationObject, info.aaguid, authData.flags.be)
      const decision = decideLevel(facts, trust(), ctx.now)
      if (profile.aal3Only && decision.level < 3) return refuse(ctx, 'attestation_not_trusted', { aaguid: facts.aaguid, fmt: facts.fmt, why: decision.why ?? null })
      if (decision.level > ctx.grant.maxAal) return refuse(ctx, 'method_not_accepted', { level: decision.level })
      if ((await ctx.credentials.get(credentialId)) !== undefined) return refuse(ctx, 'unknown_credential')
      const state: WebAuthnCredentialState = {
        webauthn_kind: kind,
        level: decision.level,
        counter: info.credential.counter,
        aaguid: facts.aaguid,
        fmt: facts.fmt,
        model: decision.model,
        transports: info.credential.transports ?? [],
        backup_eligible: authData.flags.be,
        backed_up: authData.flags.bs,
        user_handle: userHandle,
      }
      const record = { id: credentialId, uid: ctx.grant.uid, kind: WEBAUTHN_CREDENTIAL, secret: Buffer.from(info.credential.publicKey).toString('base64url'), state: stateJson(state), version: 0, created_at: ctx.now }
      await ctx.credentials.put(record)
      return {
        type: 'registered',
        aal: decision.level,
        credential: { id: credentialId, kind, created_at: ctx.now, detail: { level: `AAL${decision.level}`, authenticator: decision.model ?? 'Not attested', synced: state.backup_eligible } },
      }
    },
  }
}

/** A registration's authenticator data is inside its attestation object. */
function authDataOfAttestation(response: RegistrationResponseJSON): string | undefined {
  const encoded = response.response?.attestationObject
  if (typeof encoded !== 'string') return undefined
  // Parsed again by the library; decoded here only for the flags and RP ID hash the checks read.
  return Buffer.from(decodeAttestationObject(Buffer.from(encoded, 'base64url')).get('authData')).toString('base64url')
}

