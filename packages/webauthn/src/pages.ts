/**
 * The WebAuthn plugin's step pages: `webauthn` (sign in: the page's script runs the browser's
 * WebAuthn get with `options` and posts the answer as `response`) and `webauthn_register` (the
 * account area: create a credential with `options`). Both name the kind, for their words.
 */
import { storedStepView, type StepPage } from '@careid/ports'
import type { WebAuthnKind } from './kinds.ts'
import { webAuthnKinds } from './kinds.ts'

/** What the sign-in page can say went wrong; `method_not_accepted` is the journey's. */
export type WebAuthnSignInError = 'webauthn_cancelled' | 'unknown_credential' | 'counter_regression' | 'wrong_origin' | 'challenge_replayed' | 'user_not_verified' | 'method_not_accepted'
const signInErrors: readonly WebAuthnSignInError[] = ['webauthn_cancelled', 'unknown_credential', 'counter_regression', 'wrong_origin', 'challenge_replayed', 'user_not_verified', 'method_not_accepted']

/**
 * What the registration page can say: `unknown_credential` there means the authenticator is
 * registered already; `method_not_accepted`, that it would reach a level above what the grant allows.
 */
export type WebAuthnRegisterError = 'webauthn_cancelled' | 'unknown_credential' | 'wrong_origin' | 'challenge_replayed' | 'user_not_verified' | 'attestation_not_trusted' | 'method_not_accepted'
const registerErrors: readonly WebAuthnRegisterError[] = ['webauthn_cancelled', 'unknown_credential', 'wrong_origin', 'challenge_replayed', 'user_not_verified', 'attestation_not_trusted', 'method_not_accepted']

declare module '@careid/ports' {
  interface StepPages {
    /** Sign in with a WebAuthn credential of `kind`: `options` is the PublicKeyCredentialRequestOptionsJSON. */
    webauthn: { error: WebAuthnSignInError; values: {}; data: { kind: WebAuthnKind; options: string } }
    /**
     * Register a credential of `kind`: `options` is the PublicKeyCredentialCreationOptionsJSON;
     * `max_aal` the grant's level (for the words of `method_not_accepted`).
     */
    webauthn_register: { error: WebAuthnRegisterError; values: {}; data: { kind: WebAuthnKind; options: string; max_aal: number } }
  }
}

function isKind(value: unknown): value is WebAuthnKind {
  return typeof value === 'string' && (webAuthnKinds as readonly string[]).includes(value)
}

export const webAuthnPage: StepPage<'webauthn'> = {
  name: 'webauthn',
  decode(stored) {
    const parts = storedStepView(stored, signInErrors)
    const kind = parts?.data['kind']
    const options = parts?.data['options']
    if (parts === undefined || parts.values !== undefined || !isKind(kind) || typeof options !== 'string') return undefined
    return { page: 'webauthn', error: parts.error, data: { kind, options } }
  },
}

export const webAuthnRegisterPage: StepPage<'webauthn_register'> = {
  name: 'webauthn_register',
  decode(stored) {
    const parts = storedStepView(stored, registerErrors)
    const kind = parts?.data['kind']
    const options = parts?.data['options']
    const maxAal = parts?.data['max_aal']
    if (parts === undefined || parts.values !== undefined || !isKind(kind) || typeof options !== 'string' || typeof maxAal !== 'number') return undefined
    return { page: 'webauthn_register', error: parts.error, data: { kind, options, max_aal: maxAal } }
  },
}
