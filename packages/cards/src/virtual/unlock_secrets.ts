/**
 * A virtual card's unlock secrets and the proofs made with them. A real smartcard's chip refuses to
 * sign after three wrong PINs, and nobody can read its key out to try PINs elsewhere; a file cannot
 * refuse anything, so the provider plays the chip's part:
 *
 * - The card file seals the private key under a key derived from BOTH the passcode (scrypt over the
 *   file's salt) AND a random 256-bit share the provider holds. The file alone holds nothing that
 *   tells a right passcode from a wrong one, so a copied file cannot be opened offline by trying all
 *   passcodes: without the share every guess looks the same.
 * - The provider releases the share only for a passcode proof over a fresh challenge (HMAC-SHA256
 *   under the passcode verifier, which scrypt derives from the passcode and the file's salt), so a
 *   proof seen once is no use again. Each wrong proof is a counted attempt; the third locks the card.
 * - A passcode proof counts only when it comes with a card proof (HMAC-SHA256 under the file's access
 *   key, which needs no passcode): like trying PINs on a chip, trying passcodes needs the card in
 *   hand, so knowing a card's serial (it is in its certificate) is not enough to lock it.
 *
 * The provider keeps the access key, the verifier and the share sealed under its key-encryption key.
 * Its store alone is not enough to try passcodes offline either: the verifier needs the file's salt.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { AeadSecretBox } from '@careid/ports'

/** What the provider holds for one virtual card (base64url, 32 random or derived bytes each). */
export interface UnlockSecrets {
  /** Proves the card file is at hand (the file holds it in the clear; it opens nothing). */
  access_key: string
  /** Proves the passcode (scrypt of the passcode and the file's salt). */
  verifier: string
  /** The provider's half of the key that seals the card's private key. */
  share: string
}

/** The two proofs the agent sends with one passcode attempt. */
export interface PasscodeProofs {
  card_proof: string
  passcode_proof: string
}

/** The sealed value's associated data: the secrets open only as this card's. */
const sealContext = (serial: string) => `virtual-card-unlock:${serial}`

/** A proof that `key` is held, for this card and this challenge only (`purpose` separates the two proofs). */
export function proof(key: Buffer, purpose: 'card' | 'passcode', serial: string, challenge: string): string {
  return createHmac('sha256', key).update(`careid ${purpose} proof\0${serial}\0${challenge}`).digest('base64url')
}

export function newShare(): Buffer {
  return randomBytes(32)
}

export function sealUnlockSecrets(box: AeadSecretBox, serial: string, secrets: UnlockSecrets): string {
  return box.seal(JSON.stringify(secrets), sealContext(serial))
}

/** Checks one attempt's proofs for one challenge, in constant time; holds the share to release. */
export interface PasscodeCheckKeys {
  provesCard(cardProof: string): boolean
  provesPasscode(passcodeProof: string): boolean
  share: string
}

export function passcodeCheckKeys(box: AeadSecretBox, serial: string, sealed: string, challenge: string): PasscodeCheckKeys {
  const secrets = JSON.parse(box.open(sealed, sealContext(serial))) as UnlockSecrets
  const expectedCard = proof(Buffer.from(secrets.access_key, 'base64url'), 'card', serial, challenge)
  const expectedPasscode = proof(Buffer.from(secrets.verifier, 'base64url'), 'passcode', serial, challenge)
  return {
    provesCard: (given) => sameText(given, expectedCard),
    provesPasscode: (given) => sameText(given, expectedPasscode),
    share: secrets.share,
  }
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8')
  const b = Buffer.from(expected, 'utf8')
  // The lengths are public (a SHA-256 HMAC in base64url); only equal lengths are compared, in constant time.
  return a.length === b.length && timingSafeEqual(a, b)
}
