/**
 * Smartcards: the card reader port and its implementations, and the card certificate authority.
 */
export type * from './card_reader.ts'
export { PASSCODE_PATTERN, isWellFormedPasscode } from './card_reader.ts'
