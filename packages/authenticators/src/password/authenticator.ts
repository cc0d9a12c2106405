/**
 * The password authenticator: username and password alone, CIS2's `AAL1_USERPASS`. Services that
 * ask for AAL2 or AAL3 never offer it; it exists for development and for relying parties that
 * explicitly accept AAL1.
 */
import type { Json } from '@careid/ports'
import type { AuthenticationMethod, Authenticator, CredentialContext, StepResult } from '@careid/ports'
import { checkPasswordForm, passwordCheckOptions, passwordPage, passwordView } from './form.ts'
import { verifyPassword, type VerifyPassword } from './hash.ts'
import { passwordThrottlePolicy, type PasswordThrottlePolicy } from './throttle.ts'

/** Options for `passwordAuthenticator`; every field has a default. */
export interface PasswordAuthenticatorOptions {
  /** Shown on the choice page. */
  label?: string | undefined
  description?: string | undefined
  /** The back-off per username and source, and the hard limit (default: `DEFAULT_PASSWORD_THROTTLE`). */
  throttle?: Partial<PasswordThrottlePolicy> | undefined
  /** How a password is verified against its hash (default `verifyPassword`, argon2id). */
  verify?: VerifyPassword | undefined
}

/** The journey state between start and submit: there is only the one step. */
const STATE: Json = { step: 'password' }

/** Creates the username-and-password authenticator (`amr` USERPASS, AAL1, `AAL1_USERPASS`). */
export function passwordAuthenticator(options: PasswordAuthenticatorOptions = {}): Authenticator<CredentialContext> {
  const check = passwordCheckOptions(passwordThrottlePolicy(options.throttle), options.verify ?? verifyPassword)
  const method: AuthenticationMethod = {
    id: 'password',
    amr: 'USERPASS',
    aal: 1,
    acr: 'AAL1_USERPASS',
    label: options.label ?? 'Username and password',
    description: options.description ?? 'Sign in with your username and password only.',
  }
  return {
    method,
    pages: [passwordPage],
    async start(ctx) {
      return { state: STATE, view: passwordView(ctx.loginHint) }
    },
    async submit(ctx, state, input): Promise<StepResult> {
      const checked = await checkPasswordForm(ctx, input, check)
      if (!checked.ok) return { type: 'failure', state, view: checked.view, reason: checked.reason }
      return { type: 'success', uid: checked.uid, amr: [method.amr] }
    },
  }
}
