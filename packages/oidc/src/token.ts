/** The token endpoint (`/access_token`): client authentication, then dispatch on grant_type. */
import type { ClientAuthenticator } from './client_auth.ts'
import { UnsupportedGrantType } from './errors.ts'
import { authorizationCodeGrant } from './grants/authorization_code.ts'
import type { GrantDeps, TokenResponse } from './grants/grant.ts'
import { refreshTokenGrant } from './grants/refresh_token.ts'
import { Params, type RawParams } from './params.ts'

export type { TokenResponse } from './grants/grant.ts'

export const grantTypesSupported = ['authorization_code', 'refresh_token'] as const

export async function token(deps: GrantDeps & { authenticateClient: ClientAuthenticator }, input: { params: RawParams; authorization?: string | undefined }): Promise<TokenResponse> {
  const params = new Params(input.params)
  const grantType = params.require('grant_type')
  const client = await deps.authenticateClient({ params, authorization: input.authorization })
  switch (grantType) {
    case 'authorization_code':
      return authorizationCodeGrant(deps, client, params)
    case 'refresh_token':
      return refreshTokenGrant(deps, client, params)
    default:
      throw new UnsupportedGrantType('unsupported grant_type')
  }
}
