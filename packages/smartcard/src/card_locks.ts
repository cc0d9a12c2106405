/**
 * A PKCS#11 card's PIN lock, reported by the agent: the token's chip counts wrong PINs and, at its
 * limit, answers CKR_PIN_LOCKED; the provider records the card locked at once, so the Registration
 * Authority sees it locked (`careid cards list`) without waiting for a further try.
 *
 * The report must come from the card itself, or anyone knowing a serial (it is in the certificate)
 * could lock any card: it is a signature by the card's authentication key (on the token, usable
 * without the PIN, like a PIV card's card authentication key) over a live challenge for that card.
 * The challenge is used up by the report. A virtual card has no such key: the provider counts its
 * passcodes itself (card_passcodes.ts).
 */
import type { CardContext, CardRecord, CardStore } from '@careid/ports'
import type { CardChallenges } from './card_challenges.ts'

/** The card authority's check of a lock report's signature. */
export type LockReportVerifier = (card: CardRecord, challenge: string, signature: Uint8Array) => Promise<boolean>

export type CardLockOutcome =
  | { ok: true }
  | { ok: false; error: 'unknown_card' | 'card_revoked' | 'invalid_challenge' | 'challenge_expired' | 'invalid_card_proof' }

export function createCardLocks(deps: {
  store: Pick<CardContext, 'audit'> & { cards: Pick<CardStore, 'get' | 'lock'> }
  cardChallenges: CardChallenges
  verify: LockReportVerifier
}) {
  const { store } = deps
  return {
    async report(input: { serial: string; challenge: string; signature: string }, now: number): Promise<CardLockOutcome> {
      const card = await store.cards.get(input.serial)
      if (card === undefined) return { ok: false, error: 'unknown_card' }
      if (card.status === 'revoked') return { ok: false, error: 'card_revoked' }
      const signature = Buffer.from(input.signature, 'base64url')
      // The signature is checked before the challenge is used up: a forged report wastes nothing of the holder's.
      if (!(await deps.verify(card, input.challenge, signature))) return { ok: false, error: 'invalid_card_proof' }
      const used = await deps.cardChallenges.use(input.challenge, card.serial, now)
      if (used === 'unknown') return { ok: false, error: 'invalid_challenge' }
      if (used === 'expired') return { ok: false, error: 'challenge_expired' }
      if (!(await store.cards.lock(card.serial, now))) return { ok: false, error: 'card_revoked' }
      await store.audit.append({ at: now, type: 'card.locked', subject: card.uid, detail: { serial: card.serial, by: 'token' } })
      return { ok: true }
    },
  }
}

export type CardLocks = ReturnType<typeof createCardLocks>
