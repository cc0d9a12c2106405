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
  /** The names that may be read, when limited (see `only`). */
  readonly #readable: ReadonlySet<string> | undefined

  constructor(raw: RawParams | undefined | null, readable?: ReadonlySet<string>) {
    this.#raw = raw ?? {}
    this.#readable = readable
  }

  /**
   * The same parameters, of which only `names` may be read: a grant reads the parameters it names,
   * so reading any other is a programming error, never something a request can cause.
   */
  only(names: readonly string[]): Params {
    return new Params(this.#raw, new Set(names))
  }

  #value(name: string): string | string[] | undefined {
    if (this.#readable !== undefined && !this.#readable.has(name)) throw new Error(`parameter '${name}' is read but not named`)
    return this.#raw[name]
  }

  /** A known parameter's value; undefined when absent or empty. Throws on repeats. */
  get(name: string): string | undefined {
    const value = this.#value(name)
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
    return Array.isArray(this.#value(name))
  }

  has(name: string): boolean {
    return this.#value(name) !== undefined
  }
}

/** Space-delimited list (scope, prompt, acr_values, ui_locales), order kept, duplicates dropped. */
export function spaceList(value: string | undefined): string[] {
  if (value === undefined) return []
  return [...new Set(value.split(' ').filter((v) => v.length > 0))]
}
