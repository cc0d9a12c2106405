/** What every grant of the platform's token endpoint is given, and what it is. */
import type { Grant } from '@careid/oidc'
import type { ApplicationRecord, Store } from '@careid/ports'
import type { PlatformTokenResponse } from '../platform_tokens.ts'

/** A grant of the platform's token endpoint: its client is an API Platform application. */
export type PlatformGrant = Grant<PlatformTokenResponse, ApplicationRecord>

export interface PlatformGrantDeps {
  store: Store
  now: () => number
  /** The platform environment's name (`live` allows no test reductions). */
  environment: string
}
