/**
 * Ending sessions from outside a running node: the Registration Authority revoking a card, or an
 * administrator ending a person's sessions, through the `careid` command in its own process. A
 * session ends exactly as a node ends it (through the shared store: its relying parties' logout
 * notifications queued for the nodes to deliver, its grants revoked, then the session deleted),
 * and every node is told through the event bus.
 */
import type { CareidEvent, Store } from '@careid/ports'
import { createClientRegistry } from './clients.ts'
import { defaultConfig } from './config.ts'
import { createSessionService, unlockedBinding, type SessionEndReason } from './sessions.ts'

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
     * Ends the person's sessions bound to something (a card session) that `decide` says must end,
     * given the binding as it was made (a lock on it does not change what it names); returns how
     * many. The plugin that made the bindings decides (the smartcard plugin, when a card is revoked).
     */
    async endBound(uid: string, reason: SessionEndReason, decide: (binding: string) => Promise<boolean>): Promise<number> {
      let ended = 0
      for (const session of await store.sessions.listBySub(uid)) {
        if (session.binding === undefined) continue
        if (!(await decide(unlockedBinding(session.binding)))) continue
        await sessions.end(session, reason)
        ended++
      }
      return settled(ended)
    },
  }
}
