/**
 * Consecutive-failure lockout kept in a credential's `state`: the authenticator-app code's. Only
 * someone who got the password right reaches the code, so this lock cannot be set by a stranger;
 * the password has limits of its own that cannot be turned against the worker
 * (`password/throttle.ts`). Pure functions of (state, now): the caller persists the result with
 * compare-and-set (`credentials.ts`).
 *
 * State keys owned here: `failures` (consecutive failures since the last success or lock) and
 * `locked_until` (ms since the epoch). Other keys (e.g. TOTP's `last_step`) are carried through.
 */
import type { Json } from '@careid/ports'

/** A credential's own state, as the store keeps it. */
export type CredentialState = { [key: string]: Json }

/** How many consecutive failures lock a credential, and for how long. */
export interface LockoutPolicy {
  /** Failures in a row that lock the credential (the locking failure included). */
  maxFailures: number
  /** How long the lock lasts, in milliseconds. */
  lockMs: number
}

/** 5 consecutive failures lock for 15 minutes. */
export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, lockMs: 15 * 60_000 }

/** Fills a partial policy from the default, refusing values that would disable the lock. */
export function lockoutPolicy(overrides: Partial<LockoutPolicy> = {}): LockoutPolicy {
  const policy = { ...DEFAULT_LOCKOUT, ...overrides }
  if (!Number.isInteger(policy.maxFailures) || policy.maxFailures < 1) {
    throw new RangeError('lockout maxFailures must be a positive integer')
  }
  if (!Number.isFinite(policy.lockMs) || policy.lockMs <= 0) {
    throw new RangeError('lockout lockMs must be a positive number of milliseconds')
  }
  return policy
}

/** When the lock in force at `now` ends, or undefined when the credential is not locked. */
export function lockedUntil(state: CredentialState, now: number): number | undefined {
  const until = state['locked_until']
  return typeof until === 'number' && until > now ? until : undefined
}

/**
 * The state after one more failure. Reaching the limit sets the lock and restarts the count, so
 * once a lock expires the person again has the full number of tries.
 */
export function afterFailure(
  state: CredentialState,
  now: number,
  policy: LockoutPolicy,
): { state: CredentialState; lockedUntil?: number | undefined } {
  const previous = state['failures']
  const failures = (typeof previous === 'number' ? previous : 0) + 1
  const next = withoutLockout(state)
  if (failures >= policy.maxFailures) {
    const until = now + policy.lockMs
    return { state: { ...next, failures: 0, locked_until: until }, lockedUntil: until }
  }
  return { state: { ...next, failures } }
}

/** The state after a success: no failures, no (expired) lock. */
export function afterSuccess(state: CredentialState): CredentialState {
  return withoutLockout(state)
}

/** Whether `afterSuccess` would change anything (so a clean success needs no write). */
export function hasLockoutState(state: CredentialState): boolean {
  return 'failures' in state || 'locked_until' in state
}

/** Template data for the `locked` error: whole minutes left, rounded up so it never says 0. */
export function lockedData(until: number, now: number): { locked_minutes: number } {
  return { locked_minutes: Math.max(1, Math.ceil((until - now) / 60_000)) }
}

function withoutLockout(state: CredentialState): CredentialState {
  const next = { ...state }
  delete next['failures']
  delete next['locked_until']
  return next
}
