/**
 * The API Platform's refusals: "Every API Platform error body also carries `message_id`" (cis2.md
 * 6.1), a fresh id per answer that a supplier quotes when asking for help (the platform's catch-all
 * text says "quoting Message ID"). The body itself is written by the HTTP layer's one error
 * renderer, from `error`, `error_description` and the `message_id` field set here.
 */
import { randomUUID } from 'node:crypto'
import { OAuthError, type ErrorCode } from '@careid/ports'

export class PlatformRefusal extends OAuthError {
  constructor(error: ErrorCode, description: string, status: number, detail?: string) {
    // Never redirected: the routes that redirect an error build the redirect themselves.
    super(error, description, status, { allowRedirect: false, fields: { message_id: randomUUID() }, ...(detail === undefined ? {} : { detail }) })
    this.name = 'PlatformRefusal'
  }
}

/** The platform's catch-all text, for what fails on its side or its identity provider's. */
export const unknownErrorText =
  'An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID'

/** The catch-all answer; `detail` (for the log only) says what failed. */
export function unknownError(status: number, detail: string): PlatformRefusal {
  return new PlatformRefusal('unknown_error', unknownErrorText, status, detail)
}
