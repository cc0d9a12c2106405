/**
 * Raw request parameters (query or form body) to single values.
 *
 * RFC 6749 3.1: "Request and response parameters MUST NOT be included more than once."
 * Parameters we do not know are ignored (RFC 6749 3.1: "The authorization server MUST ignore
 * unrecognized request parameters"), so only known ones are checked for repeats.
 */
import { InvalidRequest } from './errors.ts'

/** As parsed by the HTTP layer: repeated parameters arrive as arrays. */
export type RawParams = Record<string, string | string[] | undefined>

export class Params {
  readonly #raw: RawParams

  constructor(raw: RawParams | undefined | null) {
    this.#raw = raw ?? {}
  }

  /** A known parameter's value; undefined when absent or empty. Throws on repeats. */
  get(name: string): string | undefined {
    const value = this.#raw[name]
    if (Array.isArray(value)) {
      throw new InvalidRequest(`'${name}' parameter must not be provided more than once`)
    }
    return value === undefined || value === '' ? undefined : value
  }

  /** Like get, but the parameter must be present. */
  require(name: string): string {
    const value = this.get(name)
    if (value === undefined) throw new InvalidRequest(`missing required parameter '${name}'`)
    return value
  }

  /** True when a known parameter is repeated (checked before its value is used). */
  repeated(name: string): boolean {
    return Array.isArray(this.#raw[name])
  }

  has(name: string): boolean {
    return this.#raw[name] !== undefined
  }
}

/** Space-delimited list (scope, prompt, acr_values, ui_locales), order kept, duplicates dropped. */
export function spaceList(value: string | undefined): string[] {
  if (value === undefined) return []
  return [...new Set(value.split(' ').filter((v) => v.length > 0))]
}
