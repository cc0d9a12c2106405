/**
 * The one family of refusals Careid sends: the wire codes as a closed union and the base class
 * every refusal extends, the protocol core's (one class per OAuth code, in @careid/oidc), a
 * plugin's (`PluginRefusal`, e.g. the Identity Agent protocol's) and the HTTP layer's unknown path.
 * The wire body is produced in exactly one place, the HTTP layer's error renderer, from `error`,
 * `error_description`, `fields` and `status`; `detail` is for logs only and is never sent.
 */

/** The OAuth 2.0 and OpenID Connect codes Careid sends. */
export const oauthErrorCodes = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'unsupported_response_type',
  'invalid_scope',
  'access_denied',
  'login_required',
  'interaction_required',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
  'invalid_token',
  'insufficient_scope',
  'unsupported_token_type',
  'temporarily_unavailable',
  'server_error',
] as const
export type OAuthErrorCode = (typeof oauthErrorCodes)[number]

/**
 * The Identity Agent protocol's own codes (cis2.md 5.1); it answers `invalid_request` too, so its
 * sub-union `AgentErrorCode` is these and that one.
 */
export const agentErrorCodes = [
  'invalid_assertion',
  'invalid_challenge',
  'challenge_expired',
  'unknown_card',
  'card_revoked',
  'card_expired',
  'card_not_yet_valid',
  'card_locked',
  'invalid_card_session',
  'invalid_agent_proof',
  'invalid_card_proof',
  'wrong_passcode',
  'not_a_virtual_card',
  'unknown_role',
  'role_already_selected',
] as const
export type AgentErrorCode = 'invalid_request' | (typeof agentErrorCodes)[number]

/**
 * The API Platform OAuth service's own codes, beside the OAuth ones (cis2.md 6.7, as NHS England's
 * proxy sends them): `public_key error` for a JWT whose signature fails or an application without
 * reachable public keys, `unknown_error` for what the platform cannot process (its catch-all),
 * `bad_request` for a logout token whose signature fails, `not_implemented` for a logout of a
 * session it holds nothing of, and `Access Denied` for its `_status` without the monitoring key.
 */
export const platformErrorCodes = ['public_key error', 'unknown_error', 'bad_request', 'not_implemented', 'Access Denied'] as const
export type PlatformErrorCode = (typeof platformErrorCodes)[number]

/** Every wire `error` code Careid sends; `not_found` answers a path that names no endpoint. */
export const errorCodes = [...oauthErrorCodes, ...agentErrorCodes, ...platformErrorCodes, 'not_found'] as const
export type ErrorCode = (typeof errorCodes)[number]

/** Members a protocol adds to its JSON error body beside `error` and `error_description`. */
export type ErrorFields = Readonly<Record<string, string | number>>

export class OAuthError extends Error {
  /** The wire `error` code. */
  readonly error: ErrorCode
  /** Safe, fixed text for `error_description`: never contains a token, secret or personal data. */
  readonly error_description: string
  readonly status: number
  /**
   * Whether the error may be sent to the client's redirect_uri. False when the redirect URI itself
   * cannot be trusted (RFC 6749 4.1.2.1: the server "MUST NOT automatically redirect the user-agent
   * to the invalid redirection URI").
   */
  readonly allowRedirect: boolean
  /** Internal detail for logs; never rendered. */
  readonly detail: string | undefined
  /** Further members of the JSON body (the agent protocol's `attempts_left`); never secret. */
  readonly fields: ErrorFields

  constructor(error: ErrorCode, description: string, status = 400, options: { allowRedirect?: boolean; detail?: string; fields?: ErrorFields } = {}) {
    super(description)
    this.name = 'OAuthError'
    this.error = error
    this.error_description = description
    this.status = status
    this.allowRedirect = options.allowRedirect ?? true
    this.detail = options.detail
    this.fields = options.fields ?? {}
  }
}
