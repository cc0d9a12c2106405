/**
 * Encryption of secrets at rest (signing keys, TOTP seeds) under one key-encryption key (the
 * `AeadSecretBox` port). Where the key comes from (the environment or a file in the data directory)
 * is the store's concern: `@careid/store/key-encryption-key`.
 *
 * AES-256-GCM with a random 96-bit IV per seal (NIST SP 800-38D 8.2: "the probability that the
 * authenticated encryption function ever will be invoked with the same IV and the same key on two
 * (or more) distinct sets of input data shall be no greater than 2^-32"; random 96-bit IVs keep
 * that bound up to 2^32 seals per key) and the full 128-bit tag. The sealed form is a versioned
 * compact string, `v1.<iv>.<ciphertext>.<tag>` (each part base64url without padding), so the
 * format can change later without guessing what an old value is.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import type { AeadSecretBox } from '@careid/ports'

const version = 'v1'
const keyBytes = 32
const ivBytes = 12
const tagBytes = 16

/**
 * A secret box sealing strings with AES-256-GCM under `key` (32 bytes). `open` throws a TypeError
 * that names no secret material when the value is malformed, altered, sealed under another key or
 * with other associated data.
 */
export function createSecretBox(key: Buffer): AeadSecretBox {
  if (key.length !== keyBytes) throw new TypeError(`the key-encryption key must be ${keyBytes} bytes`)
  // A KeyObject holds its own copy: later changes to the caller's buffer cannot alter it.
  const secret: KeyObject = createSecretKey(key)
  return {
    seal(plaintext: string, associatedData = ''): string {
      const iv = randomBytes(ivBytes)
      const cipher = createCipheriv('aes-256-gcm', secret, iv, { authTagLength: tagBytes })
      cipher.setAAD(Buffer.from(associatedData, 'utf8'))
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      const tag = cipher.getAuthTag()
      return `${version}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`
    },
    open(sealed: string, associatedData = ''): string {
      const parts = sealed.split('.')
      if (parts.length !== 4 || parts[0] !== version) throw new TypeError('sealed value is malformed or of an unknown version')
      const [iv, ciphertext, tag] = parts.slice(1).map((part) => {
        const bytes = Buffer.from(part, 'base64url')
        // Canonical base64url only (Buffer.from skips stray characters and spare bits), so one
        // sealed value has exactly one spelling.
        if (bytes.toString('base64url') !== part) throw new TypeError('sealed value is malformed')
        return bytes
      }) as [Buffer, Buffer, Buffer]
      if (iv.length !== ivBytes || tag.length !== tagBytes) throw new TypeError('sealed value is malformed')
      // authTagLength pins the tag to 16 bytes: without it, GCM would accept a truncated tag.
      const decipher = createDecipheriv('aes-256-gcm', secret, iv, { authTagLength: tagBytes })
      decipher.setAAD(Buffer.from(associatedData, 'utf8'))
      decipher.setAuthTag(tag)
      try {
        const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()])
        return plaintext.toString('utf8')
      } catch {
        // The cause (OpenSSL's "unable to authenticate data") adds nothing and is dropped on purpose.
        throw new TypeError('sealed value failed authentication: altered, sealed under another key, or with other associated data')
      }
    },
  }
}
