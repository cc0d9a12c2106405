/** Small cryptographic helpers shared by the protocol: random handles, hashes, comparisons. */
import { createHash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto'

/**
 * Random bytes drawn from the CSPRNG a few KiB at a time (as node:crypto's randomUUID does), each
 * handed out once: a token request takes several small handles, and one call into OpenSSL per
 * handle cost more than the bytes.
 */
const pool = Buffer.allocUnsafeSlow(4096)
let poolOffset = pool.length

/** A random handle with `bytes` of entropy, base64url (codes, tokens, session secrets, ids). */
export function randomToken(bytes = 32): string {
  if (bytes > pool.length) return randomBytes(bytes).toString('base64url')
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const token = pool.toString('base64url', poolOffset, poolOffset + bytes)
  poolOffset += bytes
  return token
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
