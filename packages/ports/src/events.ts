/**
 * Events every Careid node must hear about, whichever node (or admin command) caused them, so the
 * caches a node keeps in memory follow changes made elsewhere within a second. Delivery is at most
 * once and nothing is kept for a node that was not listening: each cache also has a backstop (the
 * client cache's one-second TTL, the key service's periodic reload), so a lost event only delays.
 */

/** What happened. Ids only: an event never carries a secret, a token or personal data. */
export type CareidEvent =
  /** A relying party was registered, changed or removed: drop it from client caches. */
  | { type: 'client.changed'; client_id: string }
  /** A signing key was added (or its state moved): re-read the key store. */
  | { type: 'keys.rotated' }
  /** An SSO session ended (logout, timeout, replacement). */
  | { type: 'session.ended'; sid: string }

/** Receives events; a rejection or throw is contained by the bus (the handler owns its errors). */
export type EventHandler = (event: CareidEvent) => void | Promise<void>

/** Publish-subscribe between the nodes of one deployment. */
export interface EventBus {
  /**
   * Sends `event` to every node, this one included (its handlers are called before this resolves).
   * Rejects if the other nodes could not be reached; the local handlers have run regardless.
   */
  publish(event: CareidEvent): Promise<void>
  /** Calls `handler` for every event from now on; returns the function that stops it. */
  subscribe(handler: EventHandler): () => void
  /** Stops listening and closes the bus's connections. Idempotent. */
  close(): Promise<void>
}
