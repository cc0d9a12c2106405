/**
 * A virtual card's passcode check: the provider's part of what a smartcard's chip does. The agent
 * sends, for a live card challenge, a card proof (the card file is at hand) and a passcode proof;
 * the right passcode gets the provider's share of the card's key, without which the card file does
 * not open (packages/cards/src/virtual/unlock_secrets.ts has the design).
 *
 * cis2.md 4: three wrong passcodes lock the card. Counting is done here, where passcodes are tried:
 * - Nothing counts without a valid card proof, so knowing a serial is not enough to lock a card.
 * - The attempt is counted (atomically, in the store) BEFORE the passcode proof is compared, so
 *   concurrent guesses cannot outrun the count; at most three are ever compared without a right one.
 * - A wrong third attempt locks the card at once (locked_at is its time); a right one, even on the
 *   third try, resets the count and releases the share.
 * - Each challenge takes one attempt: a proof cannot be replayed, and a challenge cannot be reused to
 *   try again without asking for a new one.
 */
import { createHash } from 'node:crypto'
import type { CardContext, CardRecord, CardStore } from '@careid/ports'
import type { CardChallenges } from './card_challenges.ts'

/** Compares one attempt's proofs for one challenge (constant time) and holds the share to release. */
export interface PasscodeCheckKeys {
  provesCard(cardProof: string): boolean
  provesPasscode(passcodeProof: string): boolean
  share: string
}

/** The card authority's passcode check for a card and a challenge; undefined for a card without one (a token). */
export type VirtualCardUnlock = (card: CardRecord, challenge: string) => Promise<PasscodeCheckKeys | undefined>

export type PasscodeCheckOutcome =
  | { ok: true; share: string }
  | { ok: false; error: 'wrong_passcode'; attempts_left: number }
  | { ok: false; error: 'card_locked' | 'card_revoked' | 'unknown_card' | 'invalid_challenge' | 'challenge_expired' | 'invalid_card_proof' | 'not_a_virtual_card' }

const usedPrefix = 'card-passcode-challenge:'

export function createCardPasscodes(deps: {
  store: Pick<CardContext, 'replay' | 'audit'> & { cards: Pick<CardStore, 'get' | 'beginPasscodeAttempt' | 'passcodeWrong' | 'passcodeProven'> }
  cardChallenges: CardChallenges
  unlock: VirtualCardUnlock
}) {
  const { store } = deps
  return {
    async check(input: { serial: string; challenge: string; card_proof: string; passcode_proof: string }, now: number): Promise<PasscodeCheckOutcome> {
      const card = await store.cards.get(input.serial)
      if (card === undefined) return { ok: false, error: 'unknown_card' }
      if (card.status === 'revoked') return { ok: false, error: 'card_revoked' }
      if (card.locked_at !== undefined) return { ok: false, error: 'card_locked' }
      const live = await deps.cardChallenges.check(input.challenge, card.serial, now)
      if (live === 'unknown') return { ok: false, error: 'invalid_challenge' }
      if (live === 'expired') return { ok: false, error: 'challenge_expired' }
      const keys = await deps.unlock(card, input.challenge)
      if (keys === undefined) return { ok: false, error: 'not_a_virtual_card' }
      if (!keys.provesCard(input.card_proof)) return { ok: false, error: 'invalid_card_proof' }
      // One attempt per challenge: a second proof over it is refused before it is counted or compared.
      const used = `${usedPrefix}${createHash('sha256').update(input.challenge).digest('base64url')}`
      if (!(await store.replay.markUsed(used, now + 2 * 60_000, now))) return { ok: false, error: 'invalid_challenge' }
      const attempt = await store.cards.beginPasscodeAttempt(card.serial, now)
      if (attempt.outcome === 'locked') return { ok: false, error: 'card_locked' }
      if (attempt.outcome === 'revoked') return { ok: false, error: 'card_revoked' }
      if (attempt.outcome === 'unknown') return { ok: false, error: 'unknown_card' }
      if (keys.provesPasscode(input.passcode_proof)) {
        // Locked meanwhile by wrong attempts that were counted first: the lock stands.
        if (!(await store.cards.passcodeProven(card.serial))) return { ok: false, error: 'card_locked' }
        return { ok: true, share: keys.share }
      }
      if (await store.cards.passcodeWrong(card.serial, now)) {
        await store.audit.append({ at: now, type: 'card.locked', subject: card.uid, detail: { serial: card.serial, by: 'passcode' } })
        return { ok: false, error: 'card_locked' }
      }
      return { ok: false, error: 'wrong_passcode', attempts_left: attempt.attemptsLeft }
    },
  }
}

export type CardPasscodes = ReturnType<typeof createCardPasscodes>
