/**
 * The refusals of the OAuth service's routes: the platform's own (`PlatformRefusal`, shared with its
 * token endpoint), and its catch-all for what fails on its side or CIS2's. Every body carries
 * `message_id` (cis2.md 6.1), added as each route answers (`withMessageId`).
 */
import { PlatformRefusal, unknownErrorText } from './token/platform_errors.ts'

export { noScopeLeft, PlatformRefusal, unknownErrorText, withMessageId } from './token/platform_errors.ts'

/** The catch-all answer with `status`; `detail` (for the log only) says what failed. */
export function unknownError(status: number, detail: string): PlatformRefusal {
  return new PlatformRefusal('unknown_error', unknownErrorText, status, { detail })
}
