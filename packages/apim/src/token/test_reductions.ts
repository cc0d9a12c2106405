/**
 * The platform's reduce-only test parameters (cis2.md 6.7): "The platform accepts reduce-only
 * parameters on token requests in non-production environments, `_access_token_expiry_ms` and
 * `_refresh_tokens_validity_ms`, which its own tests use to reach expiry without waiting".
 *
 * As NHS England's proxy reads them (calculate-access-token-override.js,
 * calculate-refresh-token-validity-override.js): the value is read as an integer (`parseInt`) and
 * used only when it is below the configured default (`override < default`), so a request can
 * shorten a lifetime, never lengthen it; anything that is not a number changes nothing. Careid
 * honours them only outside the `live` environment, so no production token can be shortened
 * (or its refreshing ended) by what a request says.
 */
import type { Params } from '@careid/oidc'

/** The parameters' names: every grant reads the first, the user-restricted ones the second too. */
export const accessTokenExpiryParam = '_access_token_expiry_ms'
export const refreshTokensValidityParam = '_refresh_tokens_validity_ms'

/** The environment in which no request may shorten a lifetime. */
const liveEnvironment = 'live'

/** The integer a parameter's text starts with, as JavaScript's parseInt reads it; undefined when none. */
function integerOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number.parseInt(value, 10)
  return Number.isNaN(parsed) ? undefined : parsed
}

/** The lifetime in ms a token request asks for with one of the parameters; not read in `live`. */
export function askedReduction(params: Params, name: typeof accessTokenExpiryParam | typeof refreshTokensValidityParam, environment: string): number | undefined {
  return environment === liveEnvironment ? undefined : integerOf(params.get(name))
}

/**
 * A lifetime after the reductions asked: the default unless one asked is below it (never below
 * zero). Several requests may ask (the code's `/authorize` and its `/token`): the least wins.
 */
export function reduced(defaultMs: number, environment: string, ...asked: (number | undefined)[]): number {
  if (environment === liveEnvironment) return defaultMs
  let lifetime = defaultMs
  for (const value of asked) if (value !== undefined && value < lifetime) lifetime = Math.max(0, value)
  return lifetime
}
