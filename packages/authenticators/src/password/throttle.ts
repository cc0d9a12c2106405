/**
 * Limits on password guessing that cannot be turned against the worker, nor tell anyone which
 * usernames exist. NIST SP 800-63B 5.2.2: "the verifier SHALL limit consecutive failed
 * authentication attempts on a single subscriber account to no more than 100", and "Additional
 * techniques MAY be used to reduce the likelihood that an attacker will lock the legitimate
 * claimant out as a result of rate limiting".
 *
 * - Back-off per username and source. Failures for one username from one client address are
 *   counted in the store's fixed windows (shared by every node), in windows of growing length:
 *   5 in 5 minutes, 10 in an hour, 20 in a day by default. A full window refuses that username from
 *   that address until it ends, so continued guessing waits minutes, then an hour, then a day, while
 *   the worker signing in from their own computer is not held up. The count is keyed by the
 *   username as typed, whether or not anyone has it, so an unknown username backs off exactly as a
 *   real one does. Usernames and addresses are personal data: the key is a hash.
 * - A hard limit per account. 100 consecutive failures, from any address, lock the password until
 *   the Registration Authority unlocks it (`unlockPassword`). The locked password is refused as a
 *   wrong one is, so the lock tells a guesser nothing either; the worker who cannot sign in asks
 *   their Registration Authority, who sees the lock.
 *
 * The hard limit's state is kept in the password credential's `state`: `failures` (consecutive,
 * from any address, since the last success or unlock) and `locked_at` (when the limit was reached).
 */
import { createHash } from 'node:crypto'
import { rateWindowEnd, type RateCounter } from '@careid/ports'
import type { CredentialState } from '../lockout.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** At most `failures` failures in each fixed window of `windowMs`. */
export interface BackoffStep {
  failures: number
  windowMs: number
}

export interface PasswordThrottlePolicy {
  /** Per username and client address; each step a longer window. */
  backoff: readonly BackoffStep[]
  /** Consecutive failures, from any address, that lock the password until it is unlocked. */
  hardLimit: number
}

export const DEFAULT_PASSWORD_THROTTLE: PasswordThrottlePolicy = {
  backoff: [
    { failures: 5, windowMs: 5 * MINUTE },
    { failures: 10, windowMs: HOUR },
    { failures: 20, windowMs: DAY },
  ],
  hardLimit: 100,
}

/** Fills a partial policy from the default, refusing values that would disable a limit. */
export function passwordThrottlePolicy(overrides: Partial<PasswordThrottlePolicy> = {}): PasswordThrottlePolicy {
  const policy = { ...DEFAULT_PASSWORD_THROTTLE, ...overrides }
  if (policy.backoff.length === 0) throw new RangeError('password backoff needs at least one step')
  for (const step of policy.backoff) {
    if (!Number.isInteger(step.failures) || step.failures < 1) throw new RangeError('password backoff failures must be a positive integer')
    if (!Number.isSafeInteger(step.windowMs) || step.windowMs <= 0) throw new RangeError('password backoff windowMs must be a positive whole number of milliseconds')
  }
  // SP 800-63B 5.2.2: "no more than 100".
  if (!Number.isInteger(policy.hardLimit) || policy.hardLimit < 1 || policy.hardLimit > 100) {
    throw new RangeError('password hardLimit must be an integer from 1 to 100')
  }
  return policy
}

/** The rate-counter key of one username (as typed, case folded) from one client address. */
export function sourceKey(username: string, source: string): string {
  return createHash('sha256').update(['password-failures', username.toLowerCase(), source].join('\0')).digest('base64url')
}

/**
 * Each step counts under a key of its own: a counter is kept per key and window end, and windows of
 * different lengths often end together (the last five-minute window of an hour ends with the hour),
 * so one key for every step would count each failure once per step in the shared slot.
 */
function stepKey(key: string, step: BackoffStep): string {
  return `${key}:${step.windowMs}`
}

/** When `key` may try again, or undefined when it may try now. Counts nothing. */
export async function backedOffUntil(rates: RateCounter, key: string, now: number, policy: PasswordThrottlePolicy): Promise<number | undefined> {
  const counts = await Promise.all(policy.backoff.map((step) => rates.peek(stepKey(key, step), step.windowMs, now)))
  return latestFullWindowEnd(policy, counts, now)
}

/**
 * Counts one failure for `key`; returns when it may try again if this failure filled a window,
 * else undefined.
 */
export async function countFailure(rates: RateCounter, key: string, now: number, policy: PasswordThrottlePolicy): Promise<number | undefined> {
  const counts = await Promise.all(policy.backoff.map((step) => rates.hit(stepKey(key, step), step.windowMs, now)))
  return latestFullWindowEnd(policy, counts, now)
}

/** The end of the longest-lasting full window, if any window is full. */
function latestFullWindowEnd(policy: PasswordThrottlePolicy, counts: readonly number[], now: number): number | undefined {
  let until: number | undefined
  policy.backoff.forEach((step, i) => {
    if ((counts[i] ?? 0) >= step.failures) until = Math.max(until ?? 0, rateWindowEnd(step.windowMs, now))
  })
  return until
}

/** Whether the password has reached the hard limit (and not been unlocked since). */
export function isHardLocked(state: CredentialState): boolean {
  return typeof state['locked_at'] === 'number'
}

/**
 * The state after one more failure, or undefined when nothing changes (already locked: the lock
 * stands and its time is kept).
 */
export function afterPasswordFailure(state: CredentialState, now: number, policy: PasswordThrottlePolicy): CredentialState | undefined {
  if (isHardLocked(state)) return undefined
  const previous = state['failures']
  const failures = (typeof previous === 'number' ? previous : 0) + 1
  return failures >= policy.hardLimit ? { ...withoutPasswordLimits(state), locked_at: now } : { ...withoutPasswordLimits(state), failures }
}

/** The state with no failure count and no lock: after a success or an unlock. */
export function withoutPasswordLimits(state: CredentialState): CredentialState {
  const next = { ...state }
  delete next['failures']
  delete next['locked_at']
  // A timed lock kept by earlier versions of the password lockout.
  delete next['locked_until']
  return next
}

/** Whether `withoutPasswordLimits` would change anything (so a clean success needs no write). */
export function hasPasswordLimits(state: CredentialState): boolean {
  return 'failures' in state || 'locked_at' in state || 'locked_until' in state
}
