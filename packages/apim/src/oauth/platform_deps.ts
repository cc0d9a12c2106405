/** What the API Platform's OAuth service routes are made from, by the composition root. */
import type { SecretBox, Store } from '@careid/ports'
import type { Cis2Provider } from './cis2_provider.ts'

export interface PlatformDeps {
  /** The parts of the store the service reads and writes. */
  store: Pick<Store, 'apps' | 'interactions' | 'codes' | 'apiGrants' | 'ping'>
  /** Seals the CIS2 access tokens the platform keeps for `/userinfo`. */
  secrets: SecretBox
  cis2: Cis2Provider
  /** Where the service is reached, without a trailing slash, e.g. `https://api.example.org`: its paths start `/oauth2`. */
  baseUrl: string
  now: () => number
}

/** The platform's redirect URI at CIS2 (cis2.md 6.2 step 2). */
export function platformCallbackUrl(baseUrl: string): string {
  return `${baseUrl}/oauth2/callback`
}

/** The platform's back-channel logout URI at CIS2 (cis2.md 6.2 step 7). */
export function platformBackchannelLogoutUrl(baseUrl: string): string {
  return `${baseUrl}/oauth2/backchannel_logout`
}
