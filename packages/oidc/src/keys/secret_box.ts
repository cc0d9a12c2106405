/**
 * Encryption of secrets at rest (signing keys, TOTP seeds) under one key-encryption key.
 *
 * AES-256-GCM with a random 96-bit IV per seal (NIST SP 800-38D 8.2: "the probability that the
 * authenticated encryption function ever will be invoked with the same IV and the same key on two
 * (or more) distinct sets of input data shall be no greater than 2^-32"; random 96-bit IVs keep
 * that bound up to 2^32 seals per key) and the full 128-bit tag. The sealed form is a versioned
 * compact string, `v1.<iv>.<ciphertext>.<tag>` (each part base64url without padding), so the
 * format can change later without guessing what an old value is.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SecretBox } from '@careid/authenticators'

/**
 * A {@link SecretBox} whose seal and open also take associated data: context that is authenticated
 * but not encrypted (e.g. the id of the record the secret belongs to), so that a sealed value
 * copied into another record fails to open. Omitted associated data equals the empty string.
 */
export interface AeadSecretBox extends SecretBox {
  seal(plaintext: string, associatedData?: string): string
  open(sealed: string, associatedData?: string): string
}

const version = 'v1'
const keyBytes = 32
const ivBytes = 12
const tagBytes = 16
/** The file the key-encryption key lives in when it is not given in the environment. */
export const keyEncryptionKeyFile = 'key-encryption.key'

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

/**
 * The key-encryption key: from `envValue` when given (32 bytes as base64 or base64url, padding
 * optional), otherwise from `<dataDir>/key-encryption.key` (32 raw bytes), which is created with
 * mode 0600 from 32 random bytes if absent. A malformed value or a file of the wrong size is an
 * error: silently making a new key would leave every sealed secret unreadable.
 */
export function loadKeyEncryptionKey(options: { envValue?: string | undefined; dataDir: string }): Buffer {
  if (options.envValue !== undefined) return decodeEnvKey(options.envValue)
  const path = join(options.dataDir, keyEncryptionKeyFile)
  const existing = readKeyFile(path)
  if (existing !== undefined) return existing
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const key = randomBytes(keyBytes)
  // Written to a private temporary file and then hard-linked into place: link() fails if the name
  // exists, so two processes starting together never overwrite each other's key, and nobody can
  // read a half-written file under the final name.
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`
  writeFileSync(temporary, key, { mode: 0o600, flag: 'wx', flush: true })
  try {
    linkSync(temporary, path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    // Another process created it first: use theirs.
    const theirs = readKeyFile(path)
    if (theirs === undefined) throw error
    return theirs
  } finally {
    unlinkSync(temporary)
  }
  return key
}

function decodeEnvKey(value: string): Buffer {
  // 32 bytes are 43 base64 characters (plus one '=' when padded); either alphabet is accepted.
  const text = /^([A-Za-z0-9+/_-]{43})=?$/.exec(value.trim())?.[1]?.replaceAll('+', '-').replaceAll('/', '_')
  const decoded = text === undefined ? undefined : Buffer.from(text, 'base64url')
  // The round trip refuses a last character with stray low bits (a typo that would decode anyway).
  if (decoded === undefined || decoded.toString('base64url') !== text) {
    throw new TypeError(
      `the key-encryption key in the environment must be ${keyBytes} bytes in base64 or base64url (e.g. from \`openssl rand -base64 32\`)`,
    )
  }
  return decoded
}

function readKeyFile(path: string): Buffer | undefined {
  let content: Buffer
  try {
    content = readFileSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  if (content.length !== keyBytes) {
    throw new Error(`${path} must hold exactly ${keyBytes} bytes but holds ${content.length}; refusing to use it`)
  }
  return content
}
