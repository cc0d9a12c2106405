import type { CredentialRecord, Store } from '@careid/ports'
import { findCredential, replaceCredential, updateCredentialState } from '../credentials.ts'
import { PASSWORD_KIND } from './form.ts'
import { hashPassword } from './hash.ts'
import { hasPasswordLimits, withoutPasswordLimits } from './throttle.ts'

/**
 * Sets a person's password: stores its argon2id hash as their `password` credential, replacing any
 * previous one (and with it any failure count or lock, as a reset should).
 */
export async function enrolPassword(
  store: Pick<Store, 'credentials'>,
  uid: string,
  password: string,
  now: number,
): Promise<CredentialRecord> {
  if (password === '') throw new RangeError('password must not be empty')
  return replaceCredential(store.credentials, uid, PASSWORD_KIND, await hashPassword(password), now)
}

/**
 * The Registration Authority's unlock: clears the person's password failure count and the lock of
 * the hard limit, keeping the password. False when the person has no password.
 */
export async function unlockPassword(store: Pick<Store, 'credentials'>, uid: string): Promise<boolean> {
  const credential = await findCredential(store.credentials, uid, PASSWORD_KIND)
  if (credential === undefined) return false
  return updateCredentialState(
    store.credentials,
    credential.id,
    (current) => (hasPasswordLimits(current.state) ? { result: true, state: withoutPasswordLimits(current.state) } : { result: true }),
    false,
  )
}
