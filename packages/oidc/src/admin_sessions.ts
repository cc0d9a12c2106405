/**
 * Ending sessions from outside a running node: the Registration Authority revoking a card, or an
 * administrator ending a person's sessions, through the `careid` command in its own process. A
 * session ends exactly as a node ends it (through the shared store: its relying parties' logout
 * notifications queued for the nodes to deliver, its grants revoked, then the session deleted),
 * and every node is told through the event bus.
 */
import { createCardSessions } from '@careid/authenticators'
import type { CareidEvent, Store } from '@careid/ports'
import { createClientRegistry } from './clients.ts'
import { defaultConfig } from './config.ts'
import { createSessionService, unlockedBinding } from './sessions.ts'

export function createAdminSessions(deps: { store: Store; issuer: string; now: () => number; announce: (event: CareidEvent) => Promise<void> }) {
  const { store, now } = deps
  const announced: Promise<void>[] = []
  const sessions = createSessionService({
    store,
    clients: createClientRegistry(store.clients, now),
    config: defaultConfig(deps.issuer),
    now,
    onEnded: (session) => void announced.push(deps.announce({ type: 'session.ended', sid: session.sid })),
  })
  const cardSessions = createCardSessions(store)

  /** Waits for the announcements of the sessions ended so far, so the command may exit. */
  async function settled<T>(result: T): Promise<T> {
    await Promise.all(announced.splice(0))
    return result
  }

  return {
    /** Ends every session of a person; returns how many. */
    async endPerson(uid: string): Promise<number> {
      return settled(await sessions.endBySub(uid, 'admin'))
    },

    /**
     * Ends what a revoked card signed in: the holder's sessions bound to a card session of this card,
     * and that card session. A session whose card session is gone (locked at removal, or past its end)
     * can no longer be told apart by card, so it ends too: ending is always safe. Sessions on a live
     * card session of another card of the holder stay. Returns how many sessions ended.
     */
    async endCard(card: { serial: string; uid: string }): Promise<number> {
      let ended = 0
      for (const session of await store.sessions.listBySub(card.uid)) {
        if (session.binding === undefined) continue
        const cardSession = await cardSessions.get(unlockedBinding(session.binding), now())
        if (cardSession !== undefined && cardSession.serial !== card.serial) continue
        if (cardSession !== undefined) await cardSessions.end(cardSession.id)
        await sessions.end(session, 'card_revoked')
        ended++
      }
      return settled(ended)
    },
  }
}
