/** A page's posted form (or query) as the routes hand it on: every field a single string. */
export type Form = Record<string, string>

/** Form fields as single strings: a repeated field is dropped rather than guessed at. */
export function fields(raw: unknown): Form {
  const out: Form = {}
  if (raw === null || typeof raw !== 'object') return out
  for (const [key, value] of Object.entries(raw)) if (typeof value === 'string') out[key] = value
  return out
}
