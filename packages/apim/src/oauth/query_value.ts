/**
 * A query parameter's one value, as the platform's routes read them: undefined when absent or empty, `repeated` when given more than
 * once (RFC 6749 3.1: parameters "MUST NOT be included more than once").
 */
export function queryValue(query: Readonly<Record<string, string | readonly string[]>>, name: string): string | undefined | typeof repeated {
  const value = query[name]
  if (value === undefined || value === '') return undefined
  return typeof value === 'string' ? value : repeated
}

/** A parameter given more than once. */
export const repeated = Symbol('repeated')
