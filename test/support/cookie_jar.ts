/**
 * A browser's cookies for one server, as the scripted browser of the tests and the benchmark's load
 * generator keep them. Paths are ignored: everything here is under the issuer.
 */
export class CookieJar {
  readonly cookies = new Map<string, string>()

  /** The `cookie` request header, or no header at all when the jar is empty. */
  header(): Record<string, string> {
    if (this.cookies.size === 0) return {}
    return { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') }
  }

  /** Keeps what a response's Set-Cookie headers set, and forgets what they clear (empty or expired). */
  store(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a))
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }
}
