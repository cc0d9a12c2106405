/** The port for encryption of secrets at rest (signing keys, TOTP seeds, card unlock secrets). */

/** Seals secrets at rest (AES-256-GCM under the key-encryption key). */
export interface SecretBox {
  seal(plaintext: string): string
  open(sealed: string): string
}

/**
 * A {@link SecretBox} whose seal and open also take associated data: context that is authenticated
 * but not encrypted (e.g. the id of the record the secret belongs to), so that a sealed value
 * copied into another record fails to open. Omitted associated data equals the empty string.
 */
export interface AeadSecretBox extends SecretBox {
  seal(plaintext: string, associatedData?: string): string
  open(sealed: string, associatedData?: string): string
}
