/**
 * A token endpoint (`/access_token` for the provider): client authentication, then dispatch on
 * grant_type to the grant registered for it. The provider builds one with the authorization_code
 * and refresh_token grants; another package registers its grants on that one, or builds its own
 * endpoint with its own response shape `R`, on the same client authentication or on its own, which
 * authenticates its own kind of client `C` (the API Platform's applications).
 */
import type { ClientRecord } from '@careid/ports'
import type { ClientCredentials } from './client_auth.ts'
import { UnsupportedGrantType } from './errors.ts'
import type { Grant, TokenRequest } from './grants/grant.ts'
import { Params } from './params.ts'

export type { ClientCertificate, Grant, GrantContext, TokenRequest, TokenResponse } from './grants/grant.ts'

export interface TokenEndpoint<R, C = ClientRecord> {
  /** Adds a grant type. One already registered is refused: a grant is never replaced unseen. */
  registerGrant(grant: Grant<R, C>): void
  /** The registered grant types, in registration order (discovery's grant_types_supported). */
  grantTypes(): readonly string[]
  handle(request: TokenRequest): Promise<R>
}

export function createTokenEndpoint<R, C = ClientRecord>(deps: {
  authenticateClient: (credentials: ClientCredentials) => Promise<C>
  grants?: readonly Grant<R, C>[]
}): TokenEndpoint<R, C> {
  const grants = new Map<string, Grant<R, C>>()
  // Kept as a list too: the metrics read it on every token request.
  let grantTypes: readonly string[] = []
  const endpoint: TokenEndpoint<R, C> = {
    registerGrant(grant) {
      if (grant.grantType === '') throw new Error('a grant needs a grant type')
      if (grants.has(grant.grantType)) throw new Error(`grant type ${grant.grantType} is already registered`)
      grants.set(grant.grantType, grant)
      grantTypes = [...grants.keys()]
    },
    grantTypes: () => grantTypes,
    async handle(request) {
      const params = new Params(request.params)
      const grantType = params.require('grant_type')
      // The client is authenticated before the grant type is looked at, as before: a caller with
      // no valid credentials learns nothing about which grant types exist.
      const client = await deps.authenticateClient({ params, authorization: request.authorization })
      const grant = grants.get(grantType)
      if (grant === undefined) throw new UnsupportedGrantType('unsupported grant_type')
      return grant.handle({ client, params: params.only(grant.parameters), request })
    },
  }
  for (const grant of deps.grants ?? []) endpoint.registerGrant(grant)
  return endpoint
}
