/**
 * Smartcards: the card reader port and its implementations, and the card certificate authority.
 */
export type * from './card_reader.ts'
export { PASSCODE_PATTERN, isWellFormedPasscode, lockReportData } from './card_reader.ts'
export {
  CARD_RENEWAL_WINDOW_MS,
  CARD_VALIDITY_MS,
  CardIssueRefused,
  openCardAuthority,
  type CardAuthority,
  type CardAuthorityOptions,
  type CardRefusal,
  type CardVerification,
  type IssueCardInput,
} from './certificate_authority.ts'
export { CARD_FILE_FORMAT, attemptPasscode, parseCardFile, readCardFile, writeCardFile, type CardFile, type CardFileReading } from './virtual/card_file.ts'
export type { PasscodeCheckKeys, PasscodeProofs, UnlockSecrets } from './virtual/unlock_secrets.ts'
export { issueVirtualCard, type IssueVirtualCardInput } from './virtual/issue.ts'
export { VirtualCardReader } from './virtual/reader.ts'
export { issuePkcs11Card, type IssuePkcs11CardInput } from './pkcs11/issue.ts'
export { Pkcs11CardReader, type Pkcs11CardReaderOptions } from './pkcs11/reader.ts'
