/**
 * Issuing a card onto a PKCS#11 token: the key pair is generated ON the token (the private key
 * sensitive and not extractable, so it never leaves it), the card authority certifies the public
 * key, and the certificate is written to the token next to its key (same CKA_ID). The token must
 * already be initialised with the holder's PIN, which is the card passcode.
 *
 * A second key pair is made on the token: the card authentication key, which signs WITHOUT the PIN
 * (as a PIV card's card authentication key does; not extractable either). It proves only that the
 * card is at hand, never who holds it: the agent uses it to report the token's PIN locked, so that
 * report cannot come from someone who merely knows the card's serial.
 */
import { randomBytes, webcrypto } from 'node:crypto'
import { isWellFormedPasscode } from '../card_reader.ts'
import { CardIssueRefused, type CardAuthority } from '../certificate_authority.ts'
import type { CardRecord } from '@careid/ports'
import * as x509 from '../x509.ts'
import { certificatesOn, findToken, isPkcs11Error, lib, loadModule, type Handle, type Pkcs11 } from './token.ts'

/** The DER encoding of the P-256 curve's OID (1.2.840.10045.3.1.7), as CKA_EC_PARAMS wants it. */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex')
const KEY_LABEL = 'Careid card key'
export const AUTHENTICATION_KEY_LABEL = 'Careid card authentication key'
const CERTIFICATE_LABEL = 'Careid card certificate'

export interface IssuePkcs11CardInput {
  authority: CardAuthority
  uid: string
  /** The PKCS#11 library path. */
  module: string
  tokenLabel: string
  /** The token's user PIN: the card passcode (6–8 digits). */
  pin: string
  now: number
}

export async function issuePkcs11Card({ authority, uid, module: path, tokenLabel, pin, now }: IssuePkcs11CardInput): Promise<CardRecord> {
  if (!isWellFormedPasscode(pin)) throw new TypeError('a card passcode is 6 to 8 digits')
  const module = loadModule(path)
  try {
    const { pkcs11 } = module
    const token = findToken(pkcs11, tokenLabel) ?? (module.rescan() ? findToken(pkcs11, tokenLabel) : undefined)
    if (token === undefined) throw new CardIssueRefused(`no token labelled "${tokenLabel}" is present`)
    const session = module.openSession(token.slot, true)
    try {
      try {
        pkcs11.C_Login(session, lib().CKU_USER, pin)
      } catch (error) {
        if (isPkcs11Error(error, lib().CKR_PIN_INCORRECT) || isPkcs11Error(error, lib().CKR_PIN_LEN_RANGE)) {
          throw new CardIssueRefused(`the PIN of token "${tokenLabel}" is not the passcode given`)
        }
        if (isPkcs11Error(error, lib().CKR_PIN_LOCKED)) throw new CardIssueRefused(`token "${tokenLabel}" has locked its PIN`)
        throw error
      }
      if (certificatesOn(pkcs11, session).length > 0) {
        throw new CardIssueRefused(`token "${tokenLabel}" already holds a card certificate; use a fresh token`)
      }
      return await issueOnToken(pkcs11, session, authority, uid, now)
    } finally {
      try {
        pkcs11.C_Logout(session)
      } catch {
        // Not logged in (a wrong PIN).
      }
      module.closeSession(session)
    }
  } finally {
    module.release()
  }
}

/** An EC P-256 key pair on the token: private key sensitive, not extractable; `needsPin` says whether using it needs the PIN. */
function generateKeyPair(pkcs11: Pkcs11, session: Handle, id: Buffer, label: string, needsPin: boolean) {
  return pkcs11.C_GenerateKeyPair(
    session,
    { mechanism: lib().CKM_EC_KEY_PAIR_GEN },
    [
      { type: lib().CKA_TOKEN, value: true },
      { type: lib().CKA_EC_PARAMS, value: P256_PARAMS },
      { type: lib().CKA_VERIFY, value: true },
      { type: lib().CKA_ID, value: id },
      { type: lib().CKA_LABEL, value: label },
    ],
    [
      { type: lib().CKA_TOKEN, value: true },
      { type: lib().CKA_PRIVATE, value: needsPin },
      { type: lib().CKA_SENSITIVE, value: true },
      { type: lib().CKA_EXTRACTABLE, value: false },
      { type: lib().CKA_SIGN, value: true },
      { type: lib().CKA_ID, value: id },
      { type: lib().CKA_LABEL, value: label },
    ],
  )
}

async function publicKeyOf(pkcs11: Pkcs11, session: Handle, publicKey: Handle): Promise<webcrypto.CryptoKey> {
  const [point] = pkcs11.C_GetAttributeValue(session, publicKey, [{ type: lib().CKA_EC_POINT }])
  return webcrypto.subtle.importKey('raw', uncompressedPoint(point?.value as Buffer), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])
}

async function issueOnToken(pkcs11: Pkcs11, session: Handle, authority: CardAuthority, uid: string, now: number): Promise<CardRecord> {
  const id = randomBytes(16)
  const keys = generateKeyPair(pkcs11, session, id, KEY_LABEL, true)
  const authentication = generateKeyPair(pkcs11, session, randomBytes(16), AUTHENTICATION_KEY_LABEL, false)
  const discardKeys = () => {
    for (const key of [keys.privateKey, keys.publicKey, authentication.privateKey, authentication.publicKey]) pkcs11.C_DestroyObject(session, key)
  }
  let card: CardRecord
  try {
    const publicKey = await publicKeyOf(pkcs11, session, keys.publicKey)
    const authenticationKey = await publicKeyOf(pkcs11, session, authentication.publicKey)
    card = await authority.issueCard({ uid, publicKey, kind: 'pkcs11', now, authenticationKey })
  } catch (error) {
    discardKeys()
    throw error
  }
  try {
    const certificate = new x509.X509Certificate(card.certificate)
    pkcs11.C_CreateObject(session, [
      { type: lib().CKA_CLASS, value: lib().CKO_CERTIFICATE },
      { type: lib().CKA_CERTIFICATE_TYPE, value: lib().CKC_X_509 },
      { type: lib().CKA_TOKEN, value: true },
      { type: lib().CKA_PRIVATE, value: false },
      { type: lib().CKA_ID, value: id },
      { type: lib().CKA_LABEL, value: CERTIFICATE_LABEL },
      { type: lib().CKA_SUBJECT, value: Buffer.from(certificate.subjectName.toArrayBuffer()) },
      { type: lib().CKA_VALUE, value: Buffer.from(certificate.rawData) },
    ])
  } catch (error) {
    // Registered but not on the card: nobody could ever use it, so it is revoked at once.
    await authority.revokeCard(card.serial, now)
    discardKeys()
    throw error
  }
  return card
}

/**
 * CKA_EC_POINT is the point as a DER OCTET STRING (PKCS#11 2.40); some libraries give the raw
 * uncompressed point (0x04 || X || Y) instead. Either way, the 65-byte point.
 */
function uncompressedPoint(value: Buffer): Buffer {
  if (value.length === 67 && value[0] === 0x04 && value[1] === 65 && value[2] === 0x04) return value.subarray(2)
  if (value.length === 65 && value[0] === 0x04) return value
  throw new Error('the token returned an EC point that is not an uncompressed P-256 point')
}
