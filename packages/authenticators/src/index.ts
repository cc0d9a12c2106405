/**
 * Authenticators: the port every way of signing in implements, and the password and TOTP
 * authenticators with their enrolment and hashing helpers.
 */
import type { Authenticator } from '@careid/ports'
import { passwordAuthenticator } from './password/authenticator.ts'
import { totpAuthenticator } from './totp/authenticator.ts'

export type { LockoutPolicy } from './lockout.ts'
export { DEFAULT_LOCKOUT } from './lockout.ts'
export type { PasswordAuthenticatorOptions } from './password/authenticator.ts'
export { passwordAuthenticator } from './password/authenticator.ts'
export { PASSWORD_KIND } from './password/form.ts'
export { enrolPassword, unlockPassword } from './password/enrol.ts'
export { ARGON2ID_PARAMETERS, dummyPasswordHash, hashPassword, verifyPassword, type VerifyPassword } from './password/hash.ts'
export { DEFAULT_PASSWORD_THROTTLE, type BackoffStep, type PasswordThrottlePolicy } from './password/throttle.ts'
export type { TotpAuthenticatorOptions } from './totp/authenticator.ts'
export { TOTP_KIND, totpAuthenticator } from './totp/authenticator.ts'
export { currentTotpCode } from './totp/code.ts'
export type { TotpEnrolment } from './totp/enrol.ts'
export { enrolTotp } from './totp/enrol.ts'

/** The authenticators Careid offers out of the box, with default options: password and TOTP. */
export function defaultAuthenticators(): Authenticator[] {
  return [passwordAuthenticator(), totpAuthenticator()]
}
export { smartcardAuthenticator, SMARTCARD_PAGE, ticketChallengeTtlMs, type SmartcardAuthenticatorOptions } from './smartcard/authenticator.ts'
export { createCardSessions, hashSecret, type CardSession, type CardSessions } from './smartcard/card_sessions.ts'
export { createCardChallenges, cardChallengeTtlMs, cardRefusal, type CardCertificateVerifier, type CardChallenges, type CardRefusal } from './smartcard/card_challenges.ts'
export { agentKeyOf, pemOfX5c, x5cOfPem, verifyCompact } from './smartcard/jws.ts'
export { createCardPasscodes, type CardPasscodes, type PasscodeCheckKeys, type VirtualCardUnlock } from './smartcard/card_passcodes.ts'
export { createCardLocks, type CardLocks, type LockReportVerifier } from './smartcard/card_locks.ts'
