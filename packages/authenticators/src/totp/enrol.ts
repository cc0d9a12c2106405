import type { Store } from '@careid/ports'
import type { SecretBox } from '@careid/ports'
import { replaceCredential } from '../credentials.ts'
import { newTotpSecret, otpauthUrl } from './code.ts'
import { TOTP_KIND } from './authenticator.ts'

/** What a person needs to add Careid to their authenticator app. Show once; it is not kept in clear. */
export interface TotpEnrolment {
  /** The shared secret, base32, for typing in by hand. */
  secret: string
  /** The otpauth:// URL to show as a QR code. */
  otpauth_url: string
}

/**
 * Gives a person a new TOTP secret, stored sealed as their `totp` credential. Replaces any previous
 * one, so an old device stops working and its lock and used-step record go with it.
 *
 * @param label The account name the app shows (default: the uid); pass the username for people.
 */
export async function enrolTotp(
  store: Pick<Store, 'credentials'>,
  secrets: SecretBox,
  uid: string,
  now: number,
  label: string = uid,
): Promise<TotpEnrolment> {
  const secret = newTotpSecret()
  await replaceCredential(store.credentials, uid, TOTP_KIND, secrets.seal(secret), now)
  return { secret, otpauth_url: otpauthUrl(secret, label) }
}
