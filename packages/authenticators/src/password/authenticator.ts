/**
 * The password authenticator: username and password alone, CIS2's `AAL1_USERPASS`. Services that
 * ask for AAL2 or AAL3 never offer it; it exists for development and for relying parties that
 * explicitly accept AAL1.
 */
import type { Json } from '@careid/store'
import type { AuthenticationMethod, Authenticator, StepResult } from '../authenticator.ts'
import type { LockoutPolicy } from '../lockout.ts'
import { lockoutPolicy } from '../lockout.ts'
import { checkPasswordForm, passwordView } from './form.ts'

/** Options for `passwordAuthenticator`; every field has a default. */
export interface PasswordAuthenticatorOptions {
  /** Shown on the choice page. */
  label?: string | undefined
  description?: string | undefined
  /** Failures in a row before the password locks, and for how long (default 5, 15 minutes). */
  lockout?: Partial<LockoutPolicy> | undefined
}

/** The journey state between start and submit: there is only the one step. */
const STATE: Json = { step: 'password' }

/** Creates the username-and-password authenticator (`amr` USERPASS, AAL1, `AAL1_USERPASS`). */
export function passwordAuthenticator(options: PasswordAuthenticatorOptions = {}): Authenticator {
  const policy = lockoutPolicy(options.lockout)
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
    async start(ctx) {
      return { state: STATE, view: passwordView(ctx.loginHint) }
    },
    async submit(ctx, state, input): Promise<StepResult> {
      const check = await checkPasswordForm(ctx, input, policy)
      if (!check.ok) return { type: 'failure', state, view: check.view, reason: check.reason }
      return { type: 'success', uid: check.uid, amr: [method.amr] }
    },
  }
}
