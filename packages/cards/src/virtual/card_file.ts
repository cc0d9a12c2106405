/**
 * The virtual card file: a card's certificate, its authority's certificate, its access key, and its
 * private key (PKCS#8) sealed so that it opens only with the passcode AND the provider's share
 * (unlock_secrets.ts says why). scrypt (N = 2^15, r = 8, p = 1, random 128-bit salt) turns the
 * passcode into 64 bytes: the first 32 are the passcode's half of the sealing key, the last 32 the
 * passcode verifier the provider checks proofs with. HKDF-SHA256 over both halves (salted with the
 * serial) gives the AES-256-GCM key; the serial is also the associated data, so a key moved into
 * another card's file does not open.
 *
 * The file holds no counter and nothing that checks a passcode: the counter of record is the
 * provider's, and a wrong passcode is found out there, where it is counted. The reader never writes
 * the file.
 *
 * Format version 1 (before the provider's share) sealed the key under the passcode alone; such
 * files are refused with a message that says to reissue the card.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import * as z from 'zod/mini'
import { newShare, proof, type PasscodeProofs, type UnlockSecrets } from './unlock_secrets.ts'

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>

export const CARD_FILE_FORMAT = 'careid-virtual-card'
const CARD_FILE_VERSION = 2
/**
 * The parameters new cards get: each passcode try costs about 32 MiB and tens of milliseconds, on
 * top of the online step the provider counts.
 */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const
const KEY_BYTES = 32
const SALT_BYTES = 16
const IV_BYTES = 12
const TAG_BYTES = 16

const base64url = z.string().check(z.regex(/^[A-Za-z0-9_-]*$/))

/** What a card file must look like; anything else is not a card. The scrypt cost is bounded so an edited file cannot make the reader spend unbounded memory. */
const cardFileSchema = z.object({
  format: z.literal(CARD_FILE_FORMAT),
  version: z.literal(CARD_FILE_VERSION),
  serial: z.string().check(z.regex(/^[0-9a-f]{2,64}$/)),
  uid: z.string().check(z.regex(/^[0-9]{12}$/)),
  certificate: z.string().check(z.minLength(1)),
  authority_certificate: z.string().check(z.minLength(1)),
  access_key: base64url.check(z.length(43)),
  key: z.object({
    kdf: z.literal('scrypt'),
    N: z.int().check(z.gte(2 ** 15), z.lte(2 ** 17), z.refine((n) => (n & (n - 1)) === 0, 'a power of two')),
    r: z.literal(8),
    p: z.literal(1),
    salt: base64url,
    cipher: z.literal('aes-256-gcm'),
    iv: base64url,
    ciphertext: base64url,
    tag: base64url,
  }),
})

export type CardFile = z.infer<typeof cardFileSchema>

/** An earlier Careid's card file: still named, so its holder can be told what to do. */
const olderCardFileSchema = z.object({
  format: z.literal(CARD_FILE_FORMAT),
  version: z.literal(1),
  serial: z.string().check(z.regex(/^[0-9a-f]{2,64}$/)),
  uid: z.string().check(z.regex(/^[0-9]{12}$/)),
})

export type CardFileReading = { ok: true; file: CardFile } | { ok: false; reason: 'not_a_card' } | { ok: false; reason: 'older_format'; message: string }

/** The card file in `text`, or why it is none. */
export function readCardFile(text: string): CardFileReading {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'not_a_card' }
  }
  const parsed = cardFileSchema.safeParse(json)
  if (parsed.success) return { ok: true, file: parsed.data }
  const older = olderCardFileSchema.safeParse(json)
  if (!older.success) return { ok: false, reason: 'not_a_card' }
  const { serial, uid } = older.data
  return {
    ok: false,
    reason: 'older_format',
    message:
      `card ${serial} is in an older card file format, which could be opened without the sign-in service; ` +
      `it can no longer be used. Ask your Registration Authority to reissue it: careid cards revoke ${serial}, then careid cards issue ${uid}`,
  }
}

/** The card file in `text`, or undefined when it is not one (of this format). */
export function parseCardFile(text: string): CardFile | undefined {
  const reading = readCardFile(text)
  return reading.ok ? reading.file : undefined
}

/** What scrypt makes of the passcode: its half of the sealing key, and the verifier proofs are made with. */
interface PasscodeKeys {
  half: Buffer
  verifier: Buffer
}

async function passcodeKeys(passcode: string, salt: Buffer, N: number, r: number, p: number): Promise<PasscodeKeys> {
  // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is exactly that at N = 2^15, r = 8.
  const derived = await scrypt(passcode, salt, 2 * KEY_BYTES, { N, r, p, maxmem: 256 * N * r })
  return { half: derived.subarray(0, KEY_BYTES), verifier: derived.subarray(KEY_BYTES) }
}

/** The AES-256-GCM key: neither half alone determines it. */
function sealingKey(passcodeHalf: Buffer, share: Buffer, serial: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.concat([passcodeHalf, share]), Buffer.from(serial, 'utf8'), 'careid virtual card key', KEY_BYTES))
}

/** A new card's secrets: what goes into its file, and what the provider keeps (`unlock`). */
export interface CardSealing {
  salt: Buffer
  passcodeHalf: Buffer
  unlock: UnlockSecrets
}

/** Makes the secrets of a new card sealed under `passcode`: the provider's share is random. */
export async function newCardSealing(passcode: string): Promise<CardSealing> {
  const salt = randomBytes(SALT_BYTES)
  const { half, verifier } = await passcodeKeys(passcode, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p)
  return {
    salt,
    passcodeHalf: half,
    unlock: { access_key: randomBytes(KEY_BYTES).toString('base64url'), verifier: verifier.toString('base64url'), share: newShare().toString('base64url') },
  }
}

/** A new card file holding `privateKey` (PKCS#8 DER) sealed under the passcode's half and the provider's share. */
export function sealCardFile(
  card: { serial: string; uid: string; certificate: string; authorityCertificate: string },
  privateKey: Buffer,
  sealing: CardSealing,
): CardFile {
  const iv = randomBytes(IV_BYTES)
  const key = sealingKey(sealing.passcodeHalf, Buffer.from(sealing.unlock.share, 'base64url'), card.serial)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(card.serial, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(privateKey), cipher.final()])
  key.fill(0)
  return {
    format: CARD_FILE_FORMAT,
    version: CARD_FILE_VERSION,
    serial: card.serial,
    uid: card.uid,
    certificate: card.certificate,
    authority_certificate: card.authorityCertificate,
    access_key: sealing.unlock.access_key,
    key: {
      kdf: 'scrypt',
      ...SCRYPT,
      salt: sealing.salt.toString('base64url'),
      cipher: 'aes-256-gcm',
      iv: iv.toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
    },
  }
}

/** A passcode typed at the card: the proofs for one provider challenge, and (with the provider's share) the key. */
export interface PasscodeAttempt {
  proofs(challenge: string): PasscodeProofs
  /** The private key (PKCS#8 DER), or undefined when the share does not open it (another card's share, or an altered file). */
  open(share: string): Buffer | undefined
}

export async function attemptPasscode(file: CardFile, passcode: string): Promise<PasscodeAttempt> {
  const { key: sealed } = file
  const { half, verifier } = await passcodeKeys(passcode, Buffer.from(sealed.salt, 'base64url'), sealed.N, sealed.r, sealed.p)
  return {
    proofs: (challenge) => ({
      card_proof: proof(Buffer.from(file.access_key, 'base64url'), 'card', file.serial, challenge),
      passcode_proof: proof(verifier, 'passcode', file.serial, challenge),
    }),
    open(share) {
      const iv = Buffer.from(sealed.iv, 'base64url')
      const tag = Buffer.from(sealed.tag, 'base64url')
      const shareBytes = Buffer.from(share, 'base64url')
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES || shareBytes.length !== KEY_BYTES) return undefined
      const key = sealingKey(half, shareBytes, file.serial)
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
      decipher.setAAD(Buffer.from(file.serial, 'utf8'))
      decipher.setAuthTag(tag)
      try {
        return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()])
      } catch {
        return undefined
      } finally {
        key.fill(0)
      }
    },
  }
}

/** Writes a new card file readable by its owner only; refuses to overwrite an existing file. */
export async function writeCardFile(path: string, file: CardFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
}
