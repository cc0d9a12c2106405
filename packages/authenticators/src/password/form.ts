/**
 * The username and password step: the whole of the password authenticator and the first step of
 * the TOTP authenticator. It verifies the password and keeps the password credential's lockout; the
 * authenticator using it decides what a pass leads to.
 */
import type { Json } from '@careid/store'
import type { AuthenticationError, AuthenticatorContext, StepView } from '../authenticator.ts'
import { findCredential, updateCredentialState } from '../credentials.ts'
import type { LockoutPolicy } from '../lockout.ts'
import { afterFailure, afterSuccess, hasLockoutState, lockedData, lockedUntil } from '../lockout.ts'
import { verifyAgainstDummy, verifyPassword } from './hash.ts'

/** The credential kind holding a person's password hash (`secret` is the argon2id PHC string). */
export const PASSWORD_KIND = 'password'

/** The UI template for this step (`PasswordPage`). */
const PASSWORD_PAGE = 'password'

/** The password page, with the username put back (never the password). */
export function passwordView(
  username: string | undefined,
  error?: AuthenticationError,
  data?: Record<string, Json>,
): StepView {
  const view: StepView = { page: PASSWORD_PAGE }
  if (username !== undefined && username !== '') view.values = { username }
  if (error !== undefined) view.error = error
  if (data !== undefined) view.data = data
  return view
}

/** The outcome of the username and password step. */
export type PasswordCheck =
  | { ok: true; uid: string; username: string }
  | { ok: false; reason: 'invalid_credentials' | 'locked' | 'missing_input'; view: StepView }

/**
 * Checks the submitted `username` and `password`.
 *
 * - A missing field is `missing_input` and touches no counter.
 * - An unknown username, a person without a password, and a wrong password are all
 *   `invalid_credentials`, after the same argon2 work, so neither the answer nor its timing tells
 *   which usernames exist.
 * - A locked credential is `locked` whether or not the password is right, and the lock stands.
 * - A wrong password counts a failure; the failure that reaches the limit sets the lock and is
 *   answered `locked`. A right password clears the count.
 */
export async function checkPasswordForm(
  ctx: AuthenticatorContext,
  input: Record<string, string>,
  policy: LockoutPolicy,
): Promise<PasswordCheck> {
  // Surrounding spaces in a username are a paste artefact; in a password they may be meant.
  const username = (input['username'] ?? '').trim()
  const password = input['password'] ?? ''
  const fail = (reason: 'invalid_credentials' | 'locked' | 'missing_input', data?: Record<string, Json>): PasswordCheck => ({
    ok: false,
    reason,
    view: passwordView(username, reason, data),
  })
  if (username === '' || password === '') return fail('missing_input')

  const uid = personUid(await ctx.store.people.getByUsername(username))
  const credential = uid === undefined ? undefined : await findCredential(ctx.store.credentials, uid, PASSWORD_KIND)
  if (uid === undefined || credential === undefined) {
    await verifyAgainstDummy(password)
    return fail('invalid_credentials')
  }
  // Refusing before argon2 keeps a locked account cheap to hammer; `locked` already says it exists.
  const lockedAtStart = lockedUntil(credential.state, ctx.now)
  if (lockedAtStart !== undefined) return fail('locked', lockedData(lockedAtStart, ctx.now))

  const matches = await verifyPassword(credential.secret, password)
  return updateCredentialState<PasswordCheck>(
    ctx.store.credentials,
    credential.id,
    (current) => {
      const until = lockedUntil(current.state, ctx.now)
      if (until !== undefined) return { result: fail('locked', lockedData(until, ctx.now)) }
      if (matches) {
        const result: PasswordCheck = { ok: true, uid, username }
        return hasLockoutState(current.state) ? { result, state: afterSuccess(current.state) } : { result }
      }
      const next = afterFailure(current.state, ctx.now, policy)
      const result =
        next.lockedUntil === undefined ? fail('invalid_credentials') : fail('locked', lockedData(next.lockedUntil, ctx.now))
      return { result, state: next.state }
    },
    // Removed while we checked it (a reset): the password just tried is no longer the password.
    fail('invalid_credentials'),
  )
}

/** The uid of a stored person (`PersonStore` keeps people as opaque JSON). */
function personUid(person: Json | undefined): string | undefined {
  if (typeof person !== 'object' || person === null || Array.isArray(person)) return undefined
  const uid = person['uid']
  return typeof uid === 'string' ? uid : undefined
}
