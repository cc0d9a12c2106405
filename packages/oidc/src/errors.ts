/**
 * Protocol errors, one class per wire `error` code (RFC 6749 5.2 and 4.1.2.1, RFC 6750 3.1,
 * OpenID Connect Core 3.1.2.6, RFC 7009 2.2.1), members of the one error family whose base class
 * and codes live in @careid/ports (errors.ts).
 */
import { OAuthError, type ErrorCode } from '@careid/ports'

export { agentErrorCodes, errorCodes, oauthErrorCodes, platformErrorCodes, OAuthError, type AgentErrorCode, type ErrorCode, type ErrorFields, type OAuthErrorCode, type PlatformErrorCode } from '@careid/ports'

type Options = { detail?: string }

function wire(code: ErrorCode, status: number, allowRedirect = true) {
  return class extends OAuthError {
    constructor(description: string, options: Options = {}) {
      super(code, description, status, { ...options, allowRedirect })
    }
  }
}

export const InvalidRequest = wire('invalid_request', 400)
/** RFC 6749 5.2: 401 when the client tried to authenticate. */
export const InvalidClient = wire('invalid_client', 401)
export const InvalidGrant = wire('invalid_grant', 400)
export const UnauthorizedClient = wire('unauthorized_client', 400)
export const UnsupportedGrantType = wire('unsupported_grant_type', 400)
export const UnsupportedResponseType = wire('unsupported_response_type', 400)
export const InvalidScope = wire('invalid_scope', 400)
export const AccessDenied = wire('access_denied', 400)
export const LoginRequired = wire('login_required', 400)
export const InteractionRequired = wire('interaction_required', 400)
export const RequestNotSupported = wire('request_not_supported', 400)
export const RequestUriNotSupported = wire('request_uri_not_supported', 400)
export const RegistrationNotSupported = wire('registration_not_supported', 400)
/** RFC 6750 3.1. */
export const InvalidToken = wire('invalid_token', 401)
export const InsufficientScope = wire('insufficient_scope', 403)
export const UnsupportedTokenType = wire('unsupported_token_type', 400)
export const TemporarilyUnavailable = wire('temporarily_unavailable', 503)
/** A request whose client or redirect URI can't be trusted: shown as a page, never redirected. */
export const InvalidRedirectUri = wire('invalid_request', 400, false)
/** Authorization request with a missing or repeated client_id: shown as a page, never redirected. */
export const InvalidClientId = wire('invalid_request', 400, false)
/** Authorization request with an unknown client: shown as a page, never redirected. */
export const UnknownClient = wire('invalid_client', 400, false)

/** A path that names no endpoint (the HTTP layer's 404). */
export const NotFound = wire('not_found', 404, false)

/** Anything unexpected: the description is fixed so nothing internal leaks. */
export class ServerError extends OAuthError {
  constructor(detail?: string) {
    super('server_error', 'The server encountered an unexpected condition.', 500, {
      allowRedirect: false,
      ...(detail === undefined ? {} : { detail }),
    })
  }
}
