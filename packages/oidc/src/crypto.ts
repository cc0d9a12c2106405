/** Small cryptographic helpers shared by the protocol: random handles, hashes, comparisons. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A random handle with `bytes` of entropy, base64url (codes, tokens, session secrets, ids). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** The storage key of a bearer secret: SHA-256, base64url. Secrets themselves are never stored. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

/** Constant-time string equality (lengths may differ: compared as hashes). */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest()
  const y = createHash('sha256').update(b).digest()
  return timingSafeEqual(x, y)
}
