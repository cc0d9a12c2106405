/** What every grant handler gets, and the token response it returns (RFC 6749 5.1). */
import type { Store } from '@careid/ports'
import type { ProviderConfig } from '../config.ts'
import type { TokenSigner } from '../tokens.ts'

export interface GrantDeps {
  store: Store
  config: ProviderConfig
  signer: TokenSigner
  realm: string
  now: () => number
}

export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  scope: string
  id_token?: string
  refresh_token?: string
}
