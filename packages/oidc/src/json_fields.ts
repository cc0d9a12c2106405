/**
 * Reading back what the provider stored as JSON (a journey's state, a code's payload), checked
 * field by field: the first field that is not what it must be throws `NotDecodable`, which
 * `decoded` turns into `undefined`, so a record that does not decode is refused whole, never
 * half-read. Absent and `null` are the same for an optional field (both mean "none").
 */
import type { Json } from '@careid/ports'

/** A stored value that is not what its codec writes. */
export class NotDecodable extends Error {
  constructor(field: string) {
    super(`stored field ${field} is not decodable`)
  }
}

/** `read()`, or undefined if it found something it cannot decode. */
export function decoded<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch (error) {
    if (error instanceof NotDecodable) return undefined
    throw error
  }
}

export function isJsonObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The fields of one stored JSON object. */
export class JsonFields {
  private readonly fields: { [key: string]: Json }
  private readonly path: string

  private constructor(fields: { [key: string]: Json }, path: string) {
    this.fields = fields
    this.path = path
  }

  /** `value` as an object's fields; `path` names it in errors. */
  static of(value: Json | undefined, path = '$'): JsonFields {
    if (!isJsonObject(value)) throw new NotDecodable(path)
    return new JsonFields(value, path)
  }

  /** Any JSON value, or undefined when absent. */
  json(key: string): Json | undefined {
    return this.fields[key]
  }

  object(key: string): JsonFields {
    return JsonFields.of(this.fields[key], this.name(key))
  }

  string(key: string): string {
    const value = this.fields[key]
    if (typeof value !== 'string') throw new NotDecodable(this.name(key))
    return value
  }

  optionalString(key: string): string | undefined {
    return this.absent(key) ? undefined : this.string(key)
  }

  number(key: string): number {
    const value = this.fields[key]
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new NotDecodable(this.name(key))
    return value
  }

  optionalNumber(key: string): number | undefined {
    return this.absent(key) ? undefined : this.number(key)
  }

  boolean(key: string): boolean {
    const value = this.fields[key]
    if (typeof value !== 'boolean') throw new NotDecodable(this.name(key))
    return value
  }

  /** One of `allowed`. */
  oneOf<T extends Json>(key: string, allowed: readonly T[]): T {
    const value = this.fields[key]
    const found = allowed.find((item) => item === value)
    if (found === undefined) throw new NotDecodable(this.name(key))
    return found
  }

  strings(key: string): string[] {
    return this.list(key).map((item, i) => {
      if (typeof item !== 'string') throw new NotDecodable(`${this.name(key)}[${i}]`)
      return item
    })
  }

  /** A list whose every item is one of `allowed`. */
  listOf<T extends Json>(key: string, allowed: readonly T[]): T[] {
    return this.list(key).map((item, i) => {
      const found = allowed.find((a) => a === item)
      if (found === undefined) throw new NotDecodable(`${this.name(key)}[${i}]`)
      return found
    })
  }

  /** Whether the field is absent or null. */
  absent(key: string): boolean {
    const value = this.fields[key]
    return value === undefined || value === null
  }

  private list(key: string): Json[] {
    const value = this.fields[key]
    if (!Array.isArray(value)) throw new NotDecodable(this.name(key))
    return value
  }

  private name(key: string): string {
    return `${this.path}.${key}`
  }
}
