/**
 * The card certificate authority: one EC P-256 key per deployment, kept in the store sealed under
 * the key-encryption key (like the signing keys), that certifies each card's key. A card
 * certificate names its holder (common name and, as the serialNumber attribute, the 12-digit UID),
 * lasts two years and has a random serial that is also the card's id in the registry.
 *
 * Verifying a presented card certificate checks, in this order: that our authority signed it, that
 * the registry knows it (the very certificate, not just its serial), that it is not revoked, that it
 * is valid at `now`, that the card is not locked, and that its holder still exists.
 */
import { createPublicKey, randomBytes, verify, webcrypto } from 'node:crypto'
import type { AeadSecretBox } from '@careid/ports'
import type { CardRecord, CardStore, Json, PersonStore } from '@careid/ports'
import { parsePerson } from '@careid/domain'
import { lockReportData } from './card_reader.ts'
import * as x509 from './x509.ts'
import { passcodeCheckKeys, sealUnlockSecrets, type PasscodeCheckKeys, type UnlockSecrets } from './virtual/unlock_secrets.ts'

const DAY = 24 * 60 * 60_000
/** How long a card certificate is valid. */
export const CARD_VALIDITY_MS = 730 * DAY
/** A holder may be issued a new card once their current one is this close to expiry. */
export const CARD_RENEWAL_WINDOW_MS = 90 * DAY
/** How long the authority's own certificate is valid: well beyond any card it will issue. */
const AUTHORITY_VALIDITY_MS = 20 * 365 * DAY
/** The sealed authority key's associated data: the sealed value opens only as this record's key. */
const AUTHORITY_KEY_CONTEXT = 'card-authority'
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const
/** id-at-serialNumber (X.520): carries the holder's UID in the subject. */
const SERIAL_NUMBER_ATTRIBUTE = '2.5.4.5'
const COMMON_NAME_ATTRIBUTE = '2.5.4.3'

export type CardRefusal = 'unknown_card' | 'revoked' | 'expired' | 'not_yet_valid' | 'bad_chain' | 'locked'
export type CardVerification = { ok: true; card: CardRecord } | { ok: false; reason: CardRefusal }

/** `issueCard` would not issue: the message says why, and names no secret. */
export class CardIssueRefused extends Error {
  override name = 'CardIssueRefused'
}

export interface CardAuthorityOptions {
  cards: CardStore
  people: PersonStore
  /** Seals the authority's private key (the key-encryption key's box). */
  secrets: AeadSecretBox
  /** When a new authority's certificate starts; defaults to the clock. */
  now?: () => number
}

export interface IssueCardInput {
  uid: string
  /** The card's public key (EC P-256); the private key never comes near the authority. */
  publicKey: webcrypto.CryptoKey
  kind: CardRecord['kind']
  now: number
  /** A virtual card's unlock secrets, sealed into its registry entry under the key-encryption key. */
  unlockSecrets?: UnlockSecrets | undefined
  /** A PKCS#11 card's authentication key (signs without the PIN), registered to check its lock reports. */
  authenticationKey?: webcrypto.CryptoKey | undefined
}

export interface CardAuthority {
  /** The authority's certificate, PEM: what card files carry, and what verifiers trust. */
  readonly certificate: string
  /**
   * Certifies a new card for a person and registers it (active, no attempts). Refuses an unknown
   * person, and a person who already holds an active, unexpired card outside its renewal window
   * (revoke a lost card first).
   */
  issueCard(input: IssueCardInput): Promise<CardRecord>
  verifyCardCertificate(pem: string, now: number): Promise<CardVerification>
  /** Revokes a card it issued (idempotent); false if the registry has no such card. */
  revokeCard(serial: string, now: number): Promise<boolean>
  /** A virtual card's passcode check for one challenge; undefined for a card without unlock secrets. */
  passcodeCheck(card: CardRecord, challenge: string): PasscodeCheckKeys | undefined
  /** Whether `signature` (ES256, r||s) is the card authentication key's over a PIN-locked report for `challenge`; false for a card without that key. */
  verifyLockReport(card: CardRecord, challenge: string, signature: Uint8Array): boolean
}

/** Loads the deployment's card authority, making it on first use. */
export async function openCardAuthority(options: CardAuthorityOptions): Promise<CardAuthority> {
  const { cards, people, secrets } = options
  const stored = (await cards.getAuthority()) ?? (await cards.initAuthority(await newAuthority(secrets, (options.now ?? Date.now)())))
  const authority = new x509.X509Certificate(stored.certificate)

  async function signingKey(): Promise<webcrypto.CryptoKey> {
    // Opened for each issue and never kept: a process that only verifies never holds it.
    const pkcs8 = Buffer.from(secrets.open(stored.private_key_sealed, AUTHORITY_KEY_CONTEXT), 'base64')
    return webcrypto.subtle.importKey('pkcs8', pkcs8, ecdsa, false, ['sign'])
  }

  return {
    certificate: stored.certificate,

    async issueCard({ uid, publicKey, kind, now, unlockSecrets, authenticationKey }) {
      const person = await people.get(uid)
      if (person === undefined) throw new CardIssueRefused(`no person has the UID ${uid}`)
      const holder = parsePerson(person as Json)
      const current = (await cards.listByPerson(uid)).find(
        (card) => card.status === 'active' && card.not_after > now && card.not_after - now > CARD_RENEWAL_WINDOW_MS,
      )
      if (current !== undefined) {
        throw new CardIssueRefused(
          `${uid} already holds active card ${current.serial}, valid until ${new Date(current.not_after).toISOString()}; ` +
            `a new card can be issued within ${CARD_RENEWAL_WINDOW_MS / DAY} days of its expiry, or once it is revoked`,
        )
      }
      // Certificates count whole seconds: the stored times are the certificate's own.
      const notBefore = new Date(Math.floor(now / 1000) * 1000)
      if (notBefore < authority.notBefore || notBefore.getTime() + CARD_VALIDITY_MS > authority.notAfter.getTime()) {
        throw new CardIssueRefused(`the card authority cannot certify a card valid from ${notBefore.toISOString()} (it is valid ${authority.notBefore.toISOString()} to ${authority.notAfter.toISOString()})`)
      }
      const certificate = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: [{ [COMMON_NAME_ATTRIBUTE]: [holder.display_name] }, { [SERIAL_NUMBER_ATTRIBUTE]: [uid] }],
        issuer: authority.subject,
        notBefore,
        notAfter: new Date(notBefore.getTime() + CARD_VALIDITY_MS),
        publicKey,
        signingKey: await signingKey(),
        signingAlgorithm,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
          await x509.SubjectKeyIdentifierExtension.create(publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(authority.publicKey),
        ],
      })
      const card: CardRecord = {
        serial: certificate.serialNumber.toLowerCase(),
        uid,
        kind,
        certificate: certificate.toString('pem'),
        not_before: certificate.notBefore.getTime(),
        not_after: certificate.notAfter.getTime(),
        created_at: now,
        status: 'active',
        failed_attempts: 0,
      }
      if (unlockSecrets !== undefined) card.unlock_secrets_sealed = sealUnlockSecrets(secrets, card.serial, unlockSecrets)
      if (authenticationKey !== undefined) card.authentication_key = Buffer.from(await webcrypto.subtle.exportKey('spki', authenticationKey)).toString('base64url')
      await cards.put(card)
      return card
    },

    async verifyCardCertificate(pem, now) {
      let presented: x509.X509Certificate
      try {
        presented = new x509.X509Certificate(pem)
      } catch {
        return { ok: false, reason: 'bad_chain' }
      }
      if (!(await signedByAuthority(presented, authority, now))) return { ok: false, reason: 'bad_chain' }
      const card = await cards.get(presented.serialNumber.toLowerCase())
      // The very certificate registered: a serial alone is no proof.
      if (card === undefined || !sameCertificate(card.certificate, presented)) return { ok: false, reason: 'unknown_card' }
      if (card.status === 'revoked') return { ok: false, reason: 'revoked' }
      if (now < presented.notBefore.getTime()) return { ok: false, reason: 'not_yet_valid' }
      if (now > presented.notAfter.getTime()) return { ok: false, reason: 'expired' }
      if (card.locked_at !== undefined) return { ok: false, reason: 'locked' }
      if ((await people.get(card.uid)) === undefined) return { ok: false, reason: 'unknown_card' }
      return { ok: true, card }
    },

    revokeCard(serial, now) {
      return cards.revoke(serial, now)
    },

    verifyLockReport(card, challenge, signature) {
      if (card.authentication_key === undefined || signature.length !== 64) return false
      const key = createPublicKey({ key: Buffer.from(card.authentication_key, 'base64url'), format: 'der', type: 'spki' })
      return verify('sha256', lockReportData(card.serial, challenge), { key, dsaEncoding: 'ieee-p1363' }, signature)
    },

    passcodeCheck(card, challenge) {
      return card.unlock_secrets_sealed === undefined ? undefined : passcodeCheckKeys(secrets, card.serial, card.unlock_secrets_sealed, challenge)
    },
  }
}

/** A new authority: its key pair, its self-signed certificate, and the key sealed for the store. */
async function newAuthority(secrets: AeadSecretBox, now: number) {
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const notBefore = new Date(Math.floor(now / 1000) * 1000)
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ [COMMON_NAME_ATTRIBUTE]: ['Careid Card Authority'] }, { [SERIAL_NUMBER_ATTRIBUTE]: [randomBytes(8).toString('hex')] }],
    notBefore,
    notAfter: new Date(notBefore.getTime() + AUTHORITY_VALIDITY_MS),
    keys,
    signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  return {
    certificate: certificate.toString('pem'),
    private_key_sealed: secrets.seal(pkcs8.toString('base64'), AUTHORITY_KEY_CONTEXT),
    created_at: now,
  }
}

/**
 * 128 bits, hex: the top two bits fixed to 01 so the DER INTEGER is positive and always 16 bytes
 * (126 random bits, far beyond the 64 that make serials unguessable).
 */
function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40
  return bytes.toString('hex')
}

async function signedByAuthority(presented: x509.X509Certificate, authority: x509.X509Certificate, now: number): Promise<boolean> {
  if (presented.issuer !== authority.subject) return false
  if (now < authority.notBefore.getTime() || now > authority.notAfter.getTime()) return false
  try {
    return await presented.verify({ publicKey: authority.publicKey, signatureOnly: true })
  } catch {
    return false
  }
}

function sameCertificate(registered: string, presented: x509.X509Certificate): boolean {
  return Buffer.from(new x509.X509Certificate(registered).rawData).equals(Buffer.from(presented.rawData))
}
