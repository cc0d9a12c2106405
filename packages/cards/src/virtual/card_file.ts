/**
 * The virtual card file: a card's certificate, its authority's certificate, and its private key
 * (PKCS#8) encrypted under the passcode. scrypt (N = 2^15, r = 8, p = 1, random 128-bit salt)
 * derives a 256-bit key from the passcode; AES-256-GCM encrypts the private key with the serial as
 * associated data, so a key moved into another card's file does not open.
 *
 * The file holds no counter: the passcode counter of record is the provider's, so copying or
 * editing the file resets nothing. A wrong passcode fails GCM authentication and leaves the file
 * untouched (the reader never writes it).
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import * as z from 'zod/mini'

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>

export const CARD_FILE_FORMAT = 'careid-virtual-card'
/**
 * The parameters new cards get. No KDF makes a 6–8 digit passcode strong against someone holding a
 * copy of the file; scrypt makes each guess cost (about 32 MiB and tens of milliseconds), and the
 * provider's 3-attempt lockout is what guards the card in use.
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
  version: z.literal(1),
  serial: z.string().check(z.regex(/^[0-9a-f]{2,64}$/)),
  uid: z.string().check(z.regex(/^[0-9]{12}$/)),
  certificate: z.string().check(z.minLength(1)),
  authority_certificate: z.string().check(z.minLength(1)),
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

/** The card file in `text`, or undefined when it is not one. */
export function parseCardFile(text: string): CardFile | undefined {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  const parsed = cardFileSchema.safeParse(json)
  return parsed.success ? parsed.data : undefined
}

function deriveKey(passcode: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is exactly that at N = 2^15, r = 8.
  return scrypt(passcode, salt, KEY_BYTES, { N, r, p, maxmem: 256 * N * r })
}

/** A new card file holding `privateKey` (PKCS#8 DER) sealed under `passcode`. */
export async function sealCardFile(
  card: { serial: string; uid: string; certificate: string; authorityCertificate: string },
  privateKey: Buffer,
  passcode: string,
): Promise<CardFile> {
  const salt = randomBytes(SALT_BYTES)
  const iv = randomBytes(IV_BYTES)
  const key = await deriveKey(passcode, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(card.serial, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(privateKey), cipher.final()])
  return {
    format: CARD_FILE_FORMAT,
    version: 1,
    serial: card.serial,
    uid: card.uid,
    certificate: card.certificate,
    authority_certificate: card.authorityCertificate,
    key: {
      kdf: 'scrypt',
      ...SCRYPT,
      salt: salt.toString('base64url'),
      cipher: 'aes-256-gcm',
      iv: iv.toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
    },
  }
}

/** The private key (PKCS#8 DER), or undefined when the passcode is wrong (or the file was altered). */
export async function openCardFile(file: CardFile, passcode: string): Promise<Buffer | undefined> {
  const { key: sealed } = file
  const iv = Buffer.from(sealed.iv, 'base64url')
  const tag = Buffer.from(sealed.tag, 'base64url')
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined
  const key = await deriveKey(passcode, Buffer.from(sealed.salt, 'base64url'), sealed.N, sealed.r, sealed.p)
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
  decipher.setAAD(Buffer.from(file.serial, 'utf8'))
  decipher.setAuthTag(tag)
  try {
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()])
  } catch {
    return undefined
  }
}

/** Writes a new card file readable by its owner only; refuses to overwrite an existing file. */
export async function writeCardFile(path: string, file: CardFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
}
