/**
 * Adding (or replacing) an authenticator app from the account area: a new secret is shown as a QR
 * code and as text, and stored only once the person types a current code from the app, so a
 * secret that never reached an app never replaces a working one. The code typed to confirm counts
 * as used: it cannot sign anyone in afterwards.
 *
 * Until confirmed, the secret is kept in the ceremony's state sealed by the SecretBox, as the
 * stored credential keeps it; the page showing it is kept with the ceremony (short-lived, removed
 * when it ends) so that it can be shown again.
 */
import QRCode from 'qrcode'
import {
  storedStepView,
  type CredentialContext,
  type Enroller,
  type EnrolmentResult,
  type Json,
  type StepPage,
  type StepView,
} from '@careid/ports'
import { replaceCredential } from '../credentials.ts'
import { TOTP_KIND } from './authenticator.ts'
import { isTotpCodeShaped, matchTotpStep, newTotpSecret, otpauthUrl } from './code.ts'

const TOTP_ENROL_PAGE = 'totp_enrol'

type TotpEnrolError = 'invalid_code' | 'missing_input' | 'method_not_accepted'
const totpEnrolErrors: readonly TotpEnrolError[] = ['invalid_code', 'missing_input', 'method_not_accepted']

declare module '@careid/ports' {
  interface StepPages {
    /** Adding an authenticator app: the new secret (QR code and text) and a code to confirm it. */
    totp_enrol: { error: TotpEnrolError; values: {}; data: { secret: string; otpauth_url: string; qr: string } }
  }
}

/** The enrolment page's stored views, checked when the account area reads them back. */
export const totpEnrolPage: StepPage<'totp_enrol'> = {
  name: TOTP_ENROL_PAGE,
  decode(stored) {
    const parts = storedStepView(stored, totpEnrolErrors)
    const { secret, otpauth_url, qr } = parts?.data ?? {}
    if (parts === undefined || parts.values !== undefined || typeof secret !== 'string' || typeof otpauth_url !== 'string' || typeof qr !== 'string') return undefined
    const view: StepView<'totp_enrol'> = { page: TOTP_ENROL_PAGE, data: { secret, otpauth_url, qr } }
    if (parts.error !== undefined) view.error = parts.error
    return view
  },
}

/** The most an authenticator app proves (`AAL2_TOTP`). */
const TOTP_AAL = 2

type Needs = Pick<CredentialContext, 'credentials' | 'secrets'>

/** The authenticator app's enroller (`totp`, AAL2). */
export function totpEnroller(options: { label?: string; description?: string } = {}): Enroller<Needs> {
  return {
    method: 'totp',
    label: options.label ?? 'Authenticator app',
    description: options.description ?? 'A 6-digit code from an app on your phone, such as Microsoft Authenticator, after your password. Adding one replaces any app you set up before.',
    maxAal: TOTP_AAL,
    pages: [totpEnrolPage],

    async start(ctx) {
      const secret = newTotpSecret()
      const view = await enrolView(secret, ctx.username)
      return { state: { sealed: ctx.secrets.seal(secret) }, view }
    },

    async submit(ctx, state, input): Promise<EnrolmentResult> {
      const sealed = sealedOf(state)
      const secret = ctx.secrets.open(sealed)
      const again = async (error: TotpEnrolError): Promise<EnrolmentResult> => ({ type: 'failure', state, view: await enrolView(secret, ctx.username, error), reason: error })
      // The grant must reach the app's level: from a session at AAL1 it does not.
      if (ctx.grant.maxAal < TOTP_AAL) return again('method_not_accepted')
      const code = (input['code'] ?? '').replace(/\s+/g, '')
      if (code === '') return again('missing_input')
      const step = isTotpCodeShaped(code) ? matchTotpStep(secret, code, ctx.now) : undefined
      if (step === undefined) return again('invalid_code')
      const credential = await replaceCredential(ctx.credentials, ctx.grant.uid, TOTP_KIND, sealed, ctx.now)
      // The confirming code is spent: the sign-in's replay check starts after its time step.
      await ctx.credentials.updateState(credential.id, credential.version, { last_step: step })
      return { type: 'registered', credential: { id: credential.id, kind: TOTP_KIND, created_at: credential.created_at }, aal: TOTP_AAL }
    },
  }
}

/** The page: the secret in groups of four, its otpauth:// URL, and that URL as a QR code. */
async function enrolView(secret: string, username: string, error?: TotpEnrolError): Promise<StepView<'totp_enrol'>> {
  const url = otpauthUrl(secret, username)
  const qr = await QRCode.toDataURL(url, { errorCorrectionLevel: 'M', margin: 2, width: 200 })
  const view: StepView<'totp_enrol'> = { page: TOTP_ENROL_PAGE, data: { secret: (secret.match(/.{1,4}/g) ?? []).join(' '), otpauth_url: url, qr } }
  if (error !== undefined) view.error = error
  return view
}

/** The ceremony state is ours: anything else is a bug in the caller. */
function sealedOf(state: Json): string {
  if (typeof state === 'object' && state !== null && !Array.isArray(state) && typeof state['sealed'] === 'string') return state['sealed']
  throw new TypeError('authenticator app enroller: unexpected ceremony state')
}
