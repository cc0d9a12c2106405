/**
 * The key-encryption key the secret box seals under, read from the environment or from a file in
 * the data directory (created on first start). The sealing itself is `createSecretBox` in
 * @careid/oidc; this module only finds the key.
 */
import { randomBytes } from 'node:crypto'
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const keyBytes = 32
/** The file the key-encryption key lives in when it is not given in the environment. */
export const keyEncryptionKeyFile = 'key-encryption.key'

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
