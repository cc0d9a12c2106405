/**
 * The card reader port: what the Identity Agent needs from a smartcard, whatever holds it (a
 * virtual card file, or a PKCS#11 token such as a real card behind OpenSC). A card holds one EC
 * P-256 key and the certificate the Careid card authority issued for it.
 *
 * Who counts wrong passcodes: a PKCS#11 token's chip counts its own PIN tries; a virtual card has
 * no chip, so its passcode is checked by the provider (the `PasscodeCheck` an unlock is given),
 * which counts there and releases its share of the card's key only for the right passcode.
 */
import type { PasscodeProofs } from './virtual/unlock_secrets.ts'

/** What a card says about itself without its passcode. */
export interface CardInfo {
  /** The certificate serial, hex. */
  serial: string
  /** The holder's 12-digit UID. */
  uid: string
  kind: 'virtual' | 'pkcs11'
  /** The card certificate, PEM. */
  certificate: string
}

export type UnlockResult =
  | { ok: true; card: UnlockedCard }
  /** `attemptsLeft`: the wrong passcodes the card still takes before it locks, when its counter says. */
  | { ok: false; reason: 'wrong_passcode'; attemptsLeft?: number }
  | { ok: false; reason: 'no_card' }
  | { ok: false; reason: 'locked' }

/** The provider's answer to one passcode attempt on a virtual card. */
export type PasscodeCheckResult =
  | { ok: true; share: string }
  | { ok: false; reason: 'wrong_passcode'; attemptsLeft: number }
  | { ok: false; reason: 'locked' }

/**
 * The online step of a virtual card's unlock: a challenge the provider issued for this card, and
 * the call that sends it the attempt's proofs. Any other refusal (the provider unreachable, the card
 * revoked) is thrown, and the unlock with it.
 */
export interface PasscodeCheck {
  challenge: string
  prove(proofs: PasscodeProofs): Promise<PasscodeCheckResult>
}

/** A card whose key the passcode has opened. */
export interface UnlockedCard {
  readonly info: CardInfo
  /** ES256 signature (raw r||s, 64 bytes) of `data` with the card's key. */
  sign(data: Uint8Array): Promise<Uint8Array>
  /** Forget the opened key (virtual) / C_Logout + close session (pkcs11). */
  close(): Promise<void>
}

export interface CardReader {
  /** The card in the reader now (no passcode needed), or undefined. */
  present(): Promise<CardInfo | undefined>
  /**
   * Opens the card's key with the passcode (6–8 digits; anything else: 'wrong_passcode' without
   * touching the card or the provider). A virtual card needs `check`; a token checks the PIN itself.
   */
  unlock(passcode: string, check: PasscodeCheck): Promise<UnlockResult>
  /**
   * Signs `data` with the card's authentication key, which needs no passcode (a PKCS#11 card issued
   * with one): proof that the card is at hand, used to report its PIN locked. Undefined when the
   * card has no such key.
   */
  authenticate?(data: Uint8Array): Promise<Uint8Array | undefined>
  /** Calls `listener` once when the card is removed (virtual: `careid agent eject` / file gone; pkcs11: token gone). Returns unsubscribe. */
  onRemoved(listener: () => void): () => void
  close(): Promise<void>
}

/** What a card's authentication key signs to report its PIN locked: for this card and this provider challenge only. */
export function lockReportData(serial: string, challenge: string): Uint8Array {
  return new TextEncoder().encode(`careid card pin locked\0${serial}\0${challenge}`)
}

/** A card passcode: 6 to 8 digits. */
export const PASSCODE_PATTERN = /^[0-9]{6,8}$/

export function isWellFormedPasscode(passcode: string): boolean {
  return PASSCODE_PATTERN.test(passcode)
}
