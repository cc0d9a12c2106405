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

/** Longest string id accepted from the wire; real ids are far shorter. */
const MAX_ID_LENGTH = 256

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH
}

/** The event `value` describes, or undefined if it is not one this version knows. */
export function parseEvent(value: unknown): CareidEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  switch (v['type']) {
    case 'client.changed':
      return isId(v['client_id']) ? { type: 'client.changed', client_id: v['client_id'] } : undefined
    case 'keys.rotated':
      return { type: 'keys.rotated' }
    case 'session.ended':
      return isId(v['sid']) ? { type: 'session.ended', sid: v['sid'] } : undefined
    default:
      return undefined
  }
}

/**
 * The handlers of one bus, and the envelope its events travel in. Each bus has a random origin id:
 * a bus runs its own handlers when it publishes and drops its own messages when the transport
 * echoes them back, so every handler sees each event once, even while the transport is down.
 */
export interface Fanout {
  readonly origin: string
  /** Runs every handler on `event`, containing their failures. */
  deliver(event: CareidEvent): void
  subscribe(handler: EventHandler): () => void
  /** The wire form of `event`. */
  encode(event: CareidEvent): string
  /** Delivers a wire message from another bus; ignores malformed, unknown and own messages. */
  receive(message: string): void
  clear(): void
}

export function createFanout(origin: string): Fanout {
  const handlers = new Set<EventHandler>()
  const deliver = (event: CareidEvent) => {
    for (const handler of handlers) {
      // A failing handler must neither stop the others nor surface as an unhandled rejection,
      // which would end the process.
      void (async () => handler(event))().catch(() => undefined)
    }
  }
  return {
    origin,
    deliver,
    subscribe(handler) {
      // A wrapper per subscription, so subscribing one function twice needs two unsubscribes.
      const entry: EventHandler = (event) => handler(event)
      handlers.add(entry)
      return () => {
        handlers.delete(entry)
      }
    },
    encode: (event) => JSON.stringify({ origin, event }),
    receive(message) {
      let envelope: unknown
      try {
        envelope = JSON.parse(message)
      } catch {
        return
      }
      if (typeof envelope !== 'object' || envelope === null) return
      const { origin: from, event } = envelope as { origin?: unknown; event?: unknown }
      if (from === origin) return
      const parsed = parseEvent(event)
      if (parsed !== undefined) deliver(parsed)
    },
    clear: () => handlers.clear(),
  }
}
