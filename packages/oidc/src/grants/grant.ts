/**
 * What a grant is (RFC 6749 4 and 8.3: a grant type the token endpoint dispatches on), what every
 * grant handler gets, and the token response the built-in grants return (RFC 6749 5.1).
 *
 * A grant names the parameters it reads: they are the ones its handler may read, each checked
 * for repeats as it is read (RFC 6749 3.1: "Request and response parameters MUST NOT be included
 * more than once"); any other parameter is ignored ("The authorization server MUST ignore
 * unrecognized request parameters").
 */
import type { ClientRecord, Store } from '@careid/ports'
import type { ProviderConfig } from '../config.ts'
import type { Params, RawParams } from '../params.ts'
import type { TokenSigner } from '../tokens.ts'

/** A client certificate presented on the connection (RFC 8705), as the HTTP layer has it. */
export interface ClientCertificate {
  /** The certificate, DER-encoded. */
  raw: Uint8Array
}

/** A token request as the HTTP layer hands it over: the parameters and the headers that matter. */
export interface TokenRequest {
  /** The form body (RFC 6749 3.2: application/x-www-form-urlencoded). */
  params: RawParams
  /** The Authorization header, if any (client_secret_basic). */
  authorization?: string | undefined
  /** The DPoP header, a proof of possession (RFC 9449 4), when the request carried one. */
  dpop?: string | undefined
  /** The client's TLS certificate, when the connection presented one. */
  clientCertificate?: ClientCertificate | undefined
}

/**
 * What a grant's handler is given: the client, already authenticated, and the request. `C` is the
 * endpoint's client: the provider's registered client, or another service's (an API Platform
 * application).
 */
export interface GrantContext<C = ClientRecord> {
  client: C
  /** The request's parameters, limited to those the grant names. */
  params: Params
  request: TokenRequest
}

/** One grant type of a token endpoint; `R` is the endpoint's response shape, `C` its client. */
export interface Grant<R = TokenResponse, C = ClientRecord> {
  /** The `grant_type` value it answers (RFC 6749 4.1.3, or an absolute URI for an extension, 4.5). */
  grantType: string
  /** The parameters it reads, besides grant_type and client authentication's. */
  parameters: readonly string[]
  handle(context: GrantContext<C>): Promise<R>
}

export interface GrantDeps {
  store: Store
  config: ProviderConfig
  signer: TokenSigner
  realm: string
  now: () => number
}

export interface TokenResponse {
  access_token: string
  /** RFC 6749 5.1 / 7.1: the type of the access token issued (`Bearer`, RFC 6750). */
  token_type: string
  expires_in: number
  scope: string
  id_token?: string
  refresh_token?: string
}
