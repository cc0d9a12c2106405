/**
 * Card challenges: a random value the provider gives the agent for one card; the card signs it
 * (which needs the passcode) to open a card session or a Smartcard Connect sign-in, and a virtual
 * card's passcode proof is made over it (card_passcodes.ts). Issuing one counts nothing: anyone may
 * ask for a challenge for a serial (it is in the card's certificate), so asking must not be what
 * locks a card. Wrong passcodes are counted where they are tried: by a token's chip, or, for a
 * virtual card, at the provider's passcode check. Single use, 60 seconds, stored hashed in the
 * short-lived store.
 */
import { createHash, randomBytes } from 'node:crypto'
import { CARD_PASSCODE_ATTEMPTS, type CardContext, type CardRecord, type CardStore } from '@careid/ports'

export const cardChallengeTtlMs = 60_000
/** The record outlives the challenge a little, so a late answer is told "expired", not "unknown". */
const retainMs = 5 * 60_000
const prefix = 'agent-challenge:'

/** Checks a presented card certificate: chain to the card authority, validity, registry status. */
export type CardCertificateVerifier = (pem: string, now: number) => Promise<
  | { ok: true; card: CardRecord }
  | { ok: false; reason: 'unknown_card' | 'revoked' | 'expired' | 'not_yet_valid' | 'bad_chain' | 'locked' }
>

/** The agent protocol's name for each refusal of a card. */
export const cardRefusal = {
  unknown_card: 'unknown_card',
  revoked: 'card_revoked',
  expired: 'card_expired',
  not_yet_valid: 'card_not_yet_valid',
  bad_chain: 'unknown_card',
  locked: 'card_locked',
} as const

export type CardRefusal = (typeof cardRefusal)[keyof typeof cardRefusal]

export type CardChallengeIssue =
  /** `attempts_left`: a virtual card's wrong passcodes before it locks (a token counts its own PIN tries, unseen here). */
  | { ok: true; challenge: string; expires_at: number; attempts_left?: number | undefined }
  | { ok: false; error: CardRefusal }

export type CardChallengeUse = 'ok' | 'unknown' | 'expired'

function key(challenge: string): string {
  return prefix + createHash('sha256').update(challenge).digest('base64url')
}

export function createCardChallenges(store: Pick<CardContext, 'interactions'> & { cards: Pick<CardStore, 'get'> }) {
  return {
    /** A challenge for `serial`, counting nothing; refused for a locked, revoked or unknown card. */
    async issue(serial: string, now: number): Promise<CardChallengeIssue> {
      const card = await store.cards.get(serial)
      if (card === undefined) return { ok: false, error: 'unknown_card' }
      if (card.status === 'revoked') return { ok: false, error: 'card_revoked' }
      if (card.locked_at !== undefined) return { ok: false, error: 'card_locked' }
      const challenge = randomBytes(32).toString('base64url')
      const expires_at = now + cardChallengeTtlMs
      await store.interactions.put({ id: key(challenge), expires_at: expires_at + retainMs, payload: { serial, exp: expires_at } })
      const attempts_left = card.unlock_secrets_sealed === undefined ? undefined : CARD_PASSCODE_ATTEMPTS - card.failed_attempts
      return { ok: true, challenge, expires_at, attempts_left }
    },

    /** Whether `challenge` is live for `serial`, without using it up. */
    async check(challenge: string, serial: string, now: number): Promise<CardChallengeUse> {
      if (challenge.length === 0 || challenge.length > 100) return 'unknown'
      const record = await store.interactions.get(key(challenge), now)
      if (record === undefined || record.payload.serial !== serial) return 'unknown'
      return Number(record.payload.exp) > now ? 'ok' : 'expired'
    },

    /** Uses a challenge up (once) for `serial`. */
    async use(challenge: string, serial: string, now: number): Promise<CardChallengeUse> {
      if (challenge.length === 0 || challenge.length > 100) return 'unknown'
      const record = await store.interactions.get(key(challenge), now)
      if (record === undefined || record.payload.serial !== serial) return 'unknown'
      // remove() is atomic: of two concurrent users of one challenge only one gets true.
      if (!(await store.interactions.remove(record.id))) return 'unknown'
      return Number(record.payload.exp) > now ? 'ok' : 'expired'
    },
  }
}

export type CardChallenges = ReturnType<typeof createCardChallenges>
