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

/**
 * A query parameter's one value: undefined when absent or empty, `repeated` when given more than
 * once (RFC 6749 3.1: parameters "MUST NOT be included more than once").
 */
export function queryValue(query: Readonly<Record<string, string | readonly string[]>>, name: string): string | undefined | typeof repeated {
  const value = query[name]
  if (value === undefined || value === '') return undefined
  return typeof value === 'string' ? value : repeated
}
export const repeated = Symbol('repeated')

/** `url` with `params` added to its query (keeping any query it has). */
export function withQuery(url: string, params: Record<string, string>): string {
  const target = new URL(url)
  for (const [name, value] of Object.entries(params)) target.searchParams.append(name, value)
  return target.href
}

/** A 302 to `location`, never cached. */
export function redirect(location: string): { status: number; headers: Record<string, string> } {
  return { status: 302, headers: { location, 'cache-control': 'no-store' } }
}
