/**
 * Issuing a virtual card: a new EC P-256 key made here, certified by the card authority, registered
 * with its unlock secrets (sealed in the registry), and written into a card file sealed under the
 * holder's passcode and the provider's share (unlock_secrets.ts).
 */
import { webcrypto } from 'node:crypto'
import { isWellFormedPasscode } from '../card_reader.ts'
import type { CardAuthority } from '../certificate_authority.ts'
import type { CardRecord } from '@careid/ports'
import { newCardSealing, sealCardFile, type CardFile } from './card_file.ts'

export interface IssueVirtualCardInput {
  authority: CardAuthority
  uid: string
  /** 6–8 digits. */
  passcode: string
  now: number
}

/** The registered card and its file (to be written with mode 0600 and handed to the holder). */
export async function issueVirtualCard({ authority, uid, passcode, now }: IssueVirtualCardInput): Promise<{ card: CardRecord; file: CardFile }> {
  if (!isWellFormedPasscode(passcode)) throw new TypeError('a card passcode is 6 to 8 digits')
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const privateKey = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const sealing = await newCardSealing(passcode)
  const card = await authority.issueCard({ uid, publicKey: keys.publicKey, kind: 'virtual', now, unlockSecrets: sealing.unlock })
  const file = sealCardFile({ serial: card.serial, uid, certificate: card.certificate, authorityCertificate: authority.certificate }, privateKey, sealing)
  privateKey.fill(0)
  sealing.passcodeHalf.fill(0)
  return { card, file }
}
