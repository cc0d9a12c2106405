/**
 * The username and password step: the whole of the password authenticator and the first step of
 * the TOTP authenticator. It verifies the password and keeps the limits on guessing
 * (`throttle.ts`); the authenticator using it decides what a pass leads to.
 */
import type { Json } from '@careid/ports'
import { storedStepView, type AuthenticatorContext, type CredentialContext, type StepPage, type StepView } from '@careid/ports'
import { findCredential, updateCredentialState } from '../credentials.ts'
import { lockedData } from '../lockout.ts'
import { dummyPasswordHash, type VerifyPassword } from './hash.ts'
import {
  afterPasswordFailure,
  backedOffUntil,
  countFailure,
  hasPasswordLimits,
  isHardLocked,
  sourceKey,
  withoutPasswordLimits,
  type PasswordThrottlePolicy,
} from './throttle.ts'

/** The credential kind holding a person's password hash (`secret` is the argon2id PHC string). */
export const PASSWORD_KIND = 'password'

/** The UI template for this step (`PasswordPage`). */
const PASSWORD_PAGE = 'password'

/** What the password page can say went wrong. */
type PasswordError = 'invalid_credentials' | 'locked' | 'missing_input' | 'not_enrolled'
const passwordErrors: readonly PasswordError[] = ['invalid_credentials', 'locked', 'missing_input', 'not_enrolled']

declare module '@careid/ports' {
  interface StepPages {
    /** Username and password: the password authenticator, and the TOTP authenticator's first step. */
    password: { error: PasswordError; values: { username?: string }; data: { locked_minutes?: number } }
  }
}

/** The password page, with the username put back (never the password). */
export function passwordView(username: string | undefined, error?: PasswordError, data?: { locked_minutes?: number }): StepView<'password'> {
  const view: StepView<'password'> = { page: PASSWORD_PAGE }
  if (username !== undefined && username !== '') view.values = { username }
  if (error !== undefined) view.error = error
  if (data !== undefined) view.data = data
  return view
}

/** The password page's stored views, checked when the journey reads them back. */
export const passwordPage: StepPage<'password'> = {
  name: PASSWORD_PAGE,
  decode(stored) {
    const parts = storedStepView(stored, passwordErrors)
    const username = parts?.values?.['username']
    const minutes = parts?.data['locked_minutes']
    if (parts === undefined || (minutes !== undefined && typeof minutes !== 'number')) return undefined
    const view: StepView<'password'> = { page: PASSWORD_PAGE }
    if (username !== undefined) view.values = { username }
    if (parts.error !== undefined) view.error = parts.error
    if (minutes !== undefined) view.data = { locked_minutes: minutes }
    return view
  },
}

/** How the username and password step checks and limits guesses. */
export interface PasswordCheckOptions {
  throttle: PasswordThrottlePolicy
  /** Called exactly once per checked form. */
  verify: VerifyPassword
}

/**
 * The options for `checkPasswordForm`, from an authenticator's. Starts making the dummy hash now,
 * so the first unknown username does not pay (and show) the cost of making it.
 */
export function passwordCheckOptions(throttle: PasswordThrottlePolicy, verify: VerifyPassword): PasswordCheckOptions {
  void dummyPasswordHash()
  return { throttle, verify }
}

/** The outcome of the username and password step. */
export type PasswordCheck =
  | { ok: true; uid: string; username: string }
  | { ok: false; reason: 'invalid_credentials' | 'locked' | 'missing_input'; view: StepView<'password'> }

/**
 * Checks the submitted `username` and `password` (see `throttle.ts` for the limits).
 *
 * - A missing field is `missing_input` and touches no counter.
 * - Every other submission costs exactly one argon2id verification, against the person's hash or,
 *   when there is none, a dummy one of the same parameters, whatever the outcome.
 * - A username backed off from this address is `locked` (with the minutes to wait), right password
 *   or not, and nothing is counted. This depends on the username typed, never on whether it exists.
 * - An unknown username, a person without a password, a wrong password and a password locked by the
 *   hard limit (right or wrong) are all `invalid_credentials`, counted towards the back-off; the
 *   failure that fills a back-off window is answered `locked`. A known person's failure also counts
 *   towards the hard limit.
 * - A right password clears the person's failure count.
 */
export async function checkPasswordForm(
  ctx: AuthenticatorContext & CredentialContext,
  input: Record<string, string>,
  options: PasswordCheckOptions,
): Promise<PasswordCheck> {
  // Surrounding spaces in a username are a paste artefact; in a password they may be meant.
  const username = (input['username'] ?? '').trim()
  const password = input['password'] ?? ''
  const fail = (reason: 'invalid_credentials' | 'locked' | 'missing_input', data?: { locked_minutes: number }): PasswordCheck => ({
    ok: false,
    reason,
    view: passwordView(username, reason, data),
  })
  if (username === '' || password === '') return fail('missing_input')

  const { throttle } = options
  const key = sourceKey(username, ctx.source ?? '')
  const uid = personUid(await ctx.people.getByUsername(username))
  const credential = uid === undefined ? undefined : await findCredential(ctx.credentials, uid, PASSWORD_KIND)
  const waitUntil = await backedOffUntil(ctx.rates, key, ctx.now, throttle)
  // Before any answer, so every answer costs the same.
  const matches = await options.verify(credential?.secret ?? (await dummyPasswordHash()), password)
  if (waitUntil !== undefined) return fail('locked', lockedData(waitUntil, ctx.now))

  const refused = async (): Promise<PasswordCheck> => {
    const until = await countFailure(ctx.rates, key, ctx.now, throttle)
    return until === undefined ? fail('invalid_credentials') : fail('locked', lockedData(until, ctx.now))
  }
  if (uid === undefined || credential === undefined) return refused()
  const signedIn = await updateCredentialState<boolean>(
    ctx.credentials,
    credential.id,
    (current) => {
      // Decided on the state read now, after argon2: a lock set meanwhile is honoured.
      if (matches && !isHardLocked(current.state)) {
        return hasPasswordLimits(current.state) ? { result: true, state: withoutPasswordLimits(current.state) } : { result: true }
      }
      return { result: false, state: afterPasswordFailure(current.state, ctx.now, throttle) }
    },
    // Removed while we checked it (a reset): the password just tried is no longer the password.
    false,
  )
  return signedIn ? { ok: true, uid, username } : refused()
}

/** The uid of a stored person (`PersonStore` keeps people as opaque JSON). */
function personUid(person: Json | undefined): string | undefined {
  if (typeof person !== 'object' || person === null || Array.isArray(person)) return undefined
  const uid = person['uid']
  return typeof uid === 'string' ? uid : undefined
}
