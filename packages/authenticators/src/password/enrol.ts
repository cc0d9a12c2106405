import type { CredentialRecord, Store } from '@careid/store'
import { replaceCredential } from '../credentials.ts'
import { PASSWORD_KIND } from './form.ts'
import { hashPassword } from './hash.ts'

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
