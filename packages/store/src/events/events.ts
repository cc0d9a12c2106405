/** The wire form of Careid's events and the fan-out every event bus shares (the port is in @careid/ports). */
import type { CareidEvent, EventHandler } from '@careid/ports'

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
