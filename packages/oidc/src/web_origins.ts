/**
 * A client's web origins: the browser origins (scheme://host:port) whose pages may call its
 * endpoints cross-origin (CORS). Like Keycloak's "Web Origins", a client either lists them or
 * gets its redirect URIs' origins: a single-page application's pages are served from where the
 * browser comes back to.
 */
import type { ClientRecord } from '@careid/ports'

/** The origins a client's pages may call from: its list, else its redirect URIs' origins. */
export function webOriginsOf(client: Pick<ClientRecord, 'redirect_uris' | 'web_origins'>): string[] {
  return client.web_origins ?? [...new Set(client.redirect_uris.map((uri) => new URL(uri).origin))]
}

/**
 * Whether `value` is an origin exactly as a browser sends it in the `Origin` header (RFC 6454
 * 6.1: lower-case scheme and host, no default port, no path), so that a plain string comparison
 * with the header is the whole check.
 */
export function isSerializedOrigin(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value
}
