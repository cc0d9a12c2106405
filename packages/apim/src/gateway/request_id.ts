/**
 * The request's ids (cis2.md 6.4, 6.7): `X-Request-ID` is required and must be a UUID;
 * `X-Request-ID` and `X-Correlation-ID` are echoed on every response, success or error.
 *
 * The PDS proxy checks the two rules at different points, and the gateway keeps its order: a
 * request id that is sent but is not a UUID is refused by the proxy once the token, the rate limit
 * and the product are checked and before the role is resolved (`targets/ig3.xml`, the GUID
 * pattern below, an empty value included); a request without one is refused only after that, by
 * the backend ("X-Request-ID header must be supplied").
 */

/** The proxy's pattern: any UUID, hex digits of either case. */
const uuid = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/** Whether a sent `X-Request-ID` is refused as not a UUID (a missing one is checked later). */
export function invalidRequestId(value: string | undefined): value is string {
  return value !== undefined && !uuid.test(value)
}

/**
 * The headers that echo the request's ids: each sent with a value (the proxy mirrors a header
 * matching `.+`), under its own name.
 */
export function echoedIds(header: (name: string) => string | undefined): Record<string, string> {
  const echoed: Record<string, string> = {}
  for (const name of ['x-request-id', 'x-correlation-id']) {
    const value = header(name)
    if (value !== undefined && value !== '') echoed[name] = value
  }
  return echoed
}
