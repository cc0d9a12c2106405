/**
 * The TOTP authenticator, CIS2's "Microsoft Authenticator" option (`AAL2_TOTP`): username and
 * password, then the 6-digit code from the person's authenticator app.
 *
 * Step 1 is the password authenticator's check (`checkPasswordForm`), with its limits. Only after
 * the password is right does the person learn anything about their TOTP credential (not enrolled,
 * locked), so a stranger cannot probe who has an app set up.
 *
 * Step 2 checks the code against the sealed secret. The credential's state records the last time
 * step accepted (`last_step`) so a code is good once, and counts wrong codes towards a lock of its
 * own, separate from the password's.
 *
 * The journey state names the person after step 1, so the caller must keep it server-side (in the
 * interaction), never in anything the browser can change.
 */
import type { Json } from '@careid/ports'
import {
  storedStepView,
  type AuthenticationMethod,
  type Authenticator,
  type AuthenticatorContext,
  type CredentialContext,
  type StepPage,
  type StepResult,
  type StepView,
} from '@careid/ports'
import { findCredential, updateCredentialState } from '../credentials.ts'
import type { LockoutPolicy } from '../lockout.ts'
import { afterFailure, afterSuccess, lockedData, lockedUntil, lockoutPolicy } from '../lockout.ts'
import { checkPasswordForm, passwordCheckOptions, passwordPage, passwordView } from '../password/form.ts'
import { verifyPassword, type VerifyPassword } from '../password/hash.ts'
import { passwordThrottlePolicy, type PasswordThrottlePolicy } from '../password/throttle.ts'
import { isTotpCodeShaped, matchTotpStep } from './code.ts'

/** The credential kind holding a person's TOTP secret (`secret` is sealed by the SecretBox). */
export const TOTP_KIND = 'totp'

/** The UI template for the code step (`TotpPage`). */
const TOTP_PAGE = 'totp'

/** What the code page can say went wrong. */
type TotpError = 'invalid_code' | 'code_already_used' | 'locked' | 'missing_input'
const totpErrors: readonly TotpError[] = ['invalid_code', 'code_already_used', 'locked', 'missing_input']

declare module '@careid/ports' {
  interface StepPages {
    /** The 6-digit code from the person's authenticator app. */
    totp: { error: TotpError; values: {}; data: { locked_minutes?: number } }
  }
}

/** The code page's stored views, checked when the journey reads them back. */
export const totpPage: StepPage<'totp'> = {
  name: TOTP_PAGE,
  decode(stored) {
    const parts = storedStepView(stored, totpErrors)
    const minutes = parts?.data['locked_minutes']
    if (parts === undefined || parts.values !== undefined || (minutes !== undefined && typeof minutes !== 'number')) return undefined
    return totpView(parts.error, minutes === undefined ? undefined : { locked_minutes: minutes })
  },
}

/** Options for `totpAuthenticator`; every field has a default. */
export interface TotpAuthenticatorOptions {
  /** Shown on the choice page. */
  label?: string | undefined
  description?: string | undefined
  /** The password step's back-off and hard limit (default: `DEFAULT_PASSWORD_THROTTLE`). */
  passwordThrottle?: Partial<PasswordThrottlePolicy> | undefined
  /** How the password step verifies a password against its hash (default `verifyPassword`). */
  verifyPassword?: VerifyPassword | undefined
  /** Wrong codes in a row before TOTP locks, and for how long (default 5, 15 minutes). */
  totpLockout?: Partial<LockoutPolicy> | undefined
}

type CodeState = { step: 'code'; uid: string }
type TotpState = { step: 'password' } | CodeState

const PASSWORD_STATE: TotpState = { step: 'password' }

/** Creates the TOTP authenticator (`amr` TOTP, AAL2, `AAL2_TOTP`). */
export function totpAuthenticator(options: TotpAuthenticatorOptions = {}): Authenticator<CredentialContext> {
  const passwordCheck = passwordCheckOptions(passwordThrottlePolicy(options.passwordThrottle), options.verifyPassword ?? verifyPassword)
  const totpPolicy = lockoutPolicy(options.totpLockout)
  const method: AuthenticationMethod = {
    id: 'totp',
    amr: 'TOTP',
    aal: 2,
    acr: 'AAL2_TOTP',
    label: options.label ?? 'Authenticator app',
    description:
      options.description ??
      'Sign in with your username and password, then a 6-digit code from an authenticator app such as Microsoft Authenticator.',
  }

  /** Step 1: the password; then, for the right person only, whether a code can be asked for. */
  async function submitPassword(ctx: AuthenticatorContext & CredentialContext, input: Record<string, string>): Promise<StepResult> {
    const check = await checkPasswordForm(ctx, input, passwordCheck)
    if (!check.ok) return failure(PASSWORD_STATE, check.view, check.reason)
    const credential = await findCredential(ctx.credentials, check.uid, TOTP_KIND)
    if (credential === undefined) {
      return failure(PASSWORD_STATE, passwordView(check.username, 'not_enrolled'), 'not_enrolled')
    }
    // Said now rather than after a code is typed: the person cannot get in either way.
    const until = lockedUntil(credential.state, ctx.now)
    if (until !== undefined) {
      return failure(PASSWORD_STATE, passwordView(check.username, 'locked', lockedData(until, ctx.now)), 'locked')
    }
    return { type: 'continue', state: { step: 'code', uid: check.uid } satisfies CodeState, view: totpView() }
  }

  /** Step 2: the code, once per time step, with its own lockout. */
  async function submitCode(
    ctx: AuthenticatorContext & CredentialContext,
    state: CodeState,
    input: Record<string, string>,
  ): Promise<StepResult> {
    const { uid } = state
    const fail = (reason: TotpError, data?: { locked_minutes: number }): StepResult =>
      failure(state, totpView(reason, data), reason)
    // Apps show the code as "123 456"; people type it that way.
    const code = (input['code'] ?? '').replace(/\s+/g, '')
    if (code === '') return fail('missing_input')

    // Gone since step 1 (removed or re-enrolled under a new id): start again from the password.
    const notEnrolled = failure(PASSWORD_STATE, passwordView(undefined, 'not_enrolled'), 'not_enrolled')
    const credential = await findCredential(ctx.credentials, uid, TOTP_KIND)
    if (credential === undefined) return notEnrolled
    const lockedAtStart = lockedUntil(credential.state, ctx.now)
    if (lockedAtStart !== undefined) return fail('locked', lockedData(lockedAtStart, ctx.now))
    // A code that cannot be right (letters, wrong length) is a typo, not a guess: not counted.
    if (!isTotpCodeShaped(code)) return fail('invalid_code')

    const step = matchTotpStep(ctx.secrets.open(credential.secret), code, ctx.now)
    return updateCredentialState<StepResult>(
      ctx.credentials,
      credential.id,
      (current) => {
        const until = lockedUntil(current.state, ctx.now)
        if (until !== undefined) return { result: fail('locked', lockedData(until, ctx.now)) }
        if (step === undefined) {
          const next = afterFailure(current.state, ctx.now, totpPolicy)
          const result =
            next.lockedUntil === undefined ? fail('invalid_code') : fail('locked', lockedData(next.lockedUntil, ctx.now))
          return { result, state: next.state }
        }
        const last = current.state['last_step']
        if (typeof last === 'number' && step <= last) return { result: fail('code_already_used') }
        return {
          result: { type: 'success', uid, amr: [method.amr] },
          state: { ...afterSuccess(current.state), last_step: step },
        }
      },
      notEnrolled,
    )
  }

  return {
    method,
    pages: [passwordPage, totpPage],
    async start(ctx) {
      return { state: PASSWORD_STATE, view: passwordView(ctx.loginHint) }
    },
    async submit(ctx, state, input) {
      const current = parseState(state)
      return current.step === 'password' ? submitPassword(ctx, input) : submitCode(ctx, current, input)
    },
  }
}

function totpView(error?: TotpError, data?: { locked_minutes?: number }): StepView<'totp'> {
  const view: StepView<'totp'> = { page: TOTP_PAGE }
  if (error !== undefined) view.error = error
  if (data !== undefined) view.data = data
  return view
}

function failure(state: TotpState, view: StepView, reason: TotpError | 'not_enrolled' | 'invalid_credentials'): StepResult {
  return { type: 'failure', state, view, reason }
}

/** The journey state is ours: anything else is a bug in the caller, not something to recover from. */
function parseState(state: Json): TotpState {
  if (typeof state === 'object' && state !== null && !Array.isArray(state)) {
    if (state['step'] === 'password') return PASSWORD_STATE
    const uid = state['uid']
    if (state['step'] === 'code' && typeof uid === 'string') return { step: 'code', uid }
  }
  throw new TypeError('TOTP authenticator: unexpected journey state')
}
