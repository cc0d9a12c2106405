/**
 * The API Platform OAuth service's refusals, as NHS England's proxy words them (cis2.md 6.7): a JSON
 * body `{ error, error_description, message_id }` with the platform's own status for each. Every
 * error body "also carries `message_id`" (cis2.md 6.1): the platform puts the id of the request
 * message there (Apigee's `messageid`), a value unique to each request, which its catch-all text
 * asks a developer to quote. Careid does the same with a random UUID per refused request.
 */
import { randomUUID } from 'node:crypto'
import { asOAuthError, OAuthError, type ErrorCode } from '@careid/oidc'

/** A refusal in the platform's words; `message_id` is added when the route answers it. */
export class PlatformRefusal extends OAuthError {
  constructor(error: ErrorCode, description: string, status: number, options: { detail?: string } = {}) {
    super(error, description, status, { ...options, allowRedirect: false })
    this.name = 'PlatformRefusal'
  }
}

/** The platform's answer when an application has no product scope this grant may give (cis2.md 6.1, RaiseFault.VerifyAccessLevel). */
export const noScopeLeft = 'you have tried to request authorization but your application is not configured to use this authorization grant type'

/** The platform's catch-all text for what it cannot process (its `unknown_error`, 500). */
export const unknownErrorText =
  'An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID'

/**
 * The refusal as the platform sends it: the same code, text and status with the request's
 * `message_id`. Anything unexpected is the platform's catch-all (500 `unknown_error`), its detail
 * kept for the log only; a store that did not answer stays the 503 the core makes of it, so
 * clients retry.
 */
export function withMessageId(error: unknown): OAuthError {
  const refusal = error instanceof OAuthError ? error : asOAuthError(error)
  const known = refusal.error === 'server_error' ? new PlatformRefusal('unknown_error', unknownErrorText, 500, { detail: refusal.detail ?? refusal.message }) : refusal
  const detail = known.detail
  return new OAuthError(known.error, known.error_description, known.status, {
    allowRedirect: false,
    fields: { ...known.fields, message_id: randomUUID() },
    ...(detail === undefined ? {} : { detail }),
  })
}

/** The catch-all answer with `status`; `detail` (for the log only) says what failed. */
export function unknownError(status: number, detail: string): PlatformRefusal {
  return new PlatformRefusal('unknown_error', unknownErrorText, status, { detail })
}
