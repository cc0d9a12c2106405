/**
 * Ending what a revoked card signed in, from the Registration Authority's `careid cards revoke`:
 * the holder's sessions bound to a card session of this card, and that card session. A session
 * whose card session is gone (locked at removal, or past its end) can no longer be told apart by
 * card, so it ends too: ending is always safe. Sessions on a live card session of another card of
 * the holder stay.
 */
import type { CardContext } from '@careid/ports'
import { createCardSessions } from './card_sessions.ts'

/** The core's admin session service, as much of it as this needs (`createAdminSessions` in @careid/oidc). */
export interface BoundSessionEnder {
  /** Ends the person's sessions whose binding `decide` accepts; returns how many ended. */
  endBound(uid: string, reason: 'card_revoked', decide: (binding: string) => Promise<boolean>): Promise<number>
}

/** Returns how many sessions ended. */
export function endCardSignIns(deps: { sessions: BoundSessionEnder; store: Pick<CardContext, 'interactions'>; now: () => number }, card: { serial: string; uid: string }): Promise<number> {
  const cardSessions = createCardSessions(deps.store)
  return deps.sessions.endBound(card.uid, 'card_revoked', async (binding) => {
    const cardSession = await cardSessions.get(binding, deps.now())
    if (cardSession !== undefined && cardSession.serial !== card.serial) return false
    if (cardSession !== undefined) await cardSessions.end(cardSession.id)
    return true
  })
}
