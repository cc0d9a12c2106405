/**
 * The account area's own client: Careid signs the worker in to "Your sign-in methods" through its
 * ordinary authorization endpoint, as a first-party public client (no secret; PKCE S256), so the
 * account area sees exactly the sign-in any relying party would, with its checks and its audit.
 * Registered at every start, so its redirect URI always follows the issuer.
 */
import type { ClientRecord } from '@careid/ports'

/** Twelve zeros: a CIS2-shaped id (cis2.md 1.4) that generated ids (first digit 1 to 9) never take. */
export const accountClientId = '000000000000.apps.national'

/** Where the authorization endpoint sends the worker back to: exactly this, under `{issuer}/account/`. */
export function accountRedirectUri(issuer: string): string {
  return `${issuer}/account/callback`
}

export function accountClient(issuer: string, createdAt: number): ClientRecord {
  return {
    client_id: accountClientId,
    client_name: 'Your Careid account',
    redirect_uris: [accountRedirectUri(issuer)],
    post_logout_redirect_uris: [],
    token_endpoint_auth_method: 'none',
    refresh_tokens: false,
    created_at: createdAt,
  }
}
