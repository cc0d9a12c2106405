/**
 * Authenticators: the password and TOTP authenticators, with their enrolment (the enrolment port)
 * and hashing helpers. They work on a person's stored credentials (`CredentialContext`).
 */
import { bindAuthenticator, bindEnroller, type Authenticator, type CredentialContext, type CredentialKind, type Enroller } from '@careid/ports'
import { credentialKinds } from './enrolment.ts'
import { passwordAuthenticator } from './password/authenticator.ts'
import { totpAuthenticator } from './totp/authenticator.ts'
import { totpEnroller } from './totp/enroller.ts'

export type { LockoutPolicy } from './lockout.ts'
export { DEFAULT_LOCKOUT } from './lockout.ts'
export type { PasswordAuthenticatorOptions } from './password/authenticator.ts'
export { passwordAuthenticator } from './password/authenticator.ts'
export { PASSWORD_KIND, passwordPage } from './password/form.ts'
export { enrolPassword, unlockPassword } from './password/enrol.ts'
export { ARGON2ID_PARAMETERS, dummyPasswordHash, hashPassword, verifyPassword, type VerifyPassword } from './password/hash.ts'
export { DEFAULT_PASSWORD_THROTTLE, type BackoffStep, type PasswordThrottlePolicy } from './password/throttle.ts'
export type { TotpAuthenticatorOptions } from './totp/authenticator.ts'
export { TOTP_KIND, totpAuthenticator, totpPage } from './totp/authenticator.ts'
export { currentTotpCode } from './totp/code.ts'
export type { TotpEnrolment } from './totp/enrol.ts'
export { enrolTotp } from './totp/enrol.ts'
export { credentialKinds, passwordEnrolment, totpEnrolment } from './enrolment.ts'
export { totpEnroller, totpEnrolPage } from './totp/enroller.ts'

/** The authenticators Careid offers out of the box, with default options: password and TOTP, bound to the credential store parts. */
export function defaultAuthenticators(parts: CredentialContext): Authenticator[] {
  return [bindAuthenticator(passwordAuthenticator(), parts), bindAuthenticator(totpAuthenticator(), parts)]
}

/** The built-in enrollers (the authenticator app) and credential kinds (password, app), bound to the credential store parts, for the account area. */
export function defaultEnrolment(parts: CredentialContext): { enrollers: Enroller[]; credentialKinds: CredentialKind[] } {
  return { enrollers: [bindEnroller(totpEnroller(), parts)], credentialKinds: credentialKinds(parts) }
}
