/** The browser redirects the platform answers with (RFC 6749 4.1.2: a 302 whose query carries the answer). */

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
