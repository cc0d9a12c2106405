/**
 * Card sessions: what the Identity Agent holds after a card and its passcode signed a provider
 * challenge (CIS1's Identity Agent session, cis2.md 5.1). CIS2 sign-ins made through the agent hang
 * on one (their `binding` is the card session id), so ending it (card removed) ends them.
 *
 * The agent gets a random secret; the store keys the card session by its SHA-256, which is also the
 * card session's public id, so a read of the store yields no usable secret. The card session records
 * the agent's instance key: the secret alone, copied elsewhere, is refused.
 *
 * Kept in the short-lived store (as interactions under their own prefix): at most 12 hours live,
 * and a day more after its end, so that the agent can still end one that ran out while the card
 * was in (ending is always safe; the sign-ins bound to it ended with it anyway).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { JWK } from 'jose'
import type { CardContext, Json } from '@careid/ports'

export interface CardSession {
  /** Public id: SHA-256 (base64url) of the secret; the `binding` of every CIS2 session made with it. */
  id: string
  serial: string
  uid: string
  /** The card certificate (PEM) whose key signed the session open, and signs every ticket. */
  certificate: string
  /** The agent instance's public key and its thumbprint. */
  agent_jwk: JWK
  agent_jkt: string
  created_at: number
  expires_at: number
  selected_roleid?: string | undefined
}

const prefix = 'card-session:'
/** How long a card session that ran out is still known, for its agent's end call. */
export const endedCardSessionKeptMs = 24 * 60 * 60_000

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}

export function createCardSessions(store: Pick<CardContext, 'interactions'>) {
  function toRecord(session: CardSession) {
    const payload: { [key: string]: Json } = {
      serial: session.serial,
      uid: session.uid,
      certificate: session.certificate,
      agent_jwk: session.agent_jwk as unknown as Json,
      agent_jkt: session.agent_jkt,
      created_at: session.created_at,
      expires_at: session.expires_at,
    }
    if (session.selected_roleid !== undefined) payload.selected_roleid = session.selected_roleid
    return { id: prefix + session.id, expires_at: session.expires_at + endedCardSessionKeptMs, payload }
  }

  /** The card session, live or ended less than `endedCardSessionKeptMs` ago. */
  async function read(id: string, now: number): Promise<CardSession | undefined> {
    if (id.length === 0 || id.length > 64) return undefined
    const record = await store.interactions.get(prefix + id, now)
    if (record === undefined) return undefined
    const p = record.payload
    return {
      id,
      serial: String(p.serial),
      uid: String(p.uid),
      certificate: String(p.certificate),
      agent_jwk: p.agent_jwk as unknown as JWK,
      agent_jkt: String(p.agent_jkt),
      created_at: Number(p.created_at),
      // A record written before ended card sessions were kept ends with its record.
      expires_at: typeof p.expires_at === 'number' ? p.expires_at : record.expires_at,
      selected_roleid: typeof p.selected_roleid === 'string' ? p.selected_roleid : undefined,
    }
  }

  return {
    /** A new card session; returns its secret (for the agent) and the record. */
    async create(fields: Omit<CardSession, 'id'>): Promise<{ secret: string; session: CardSession }> {
      const secret = randomBytes(32).toString('base64url')
      const session: CardSession = { id: hashSecret(secret), ...fields }
      await store.interactions.put(toRecord(session))
      return { secret, session }
    },

    /** A live card session: only these give tickets and role choices. */
    async get(id: string, now: number): Promise<CardSession | undefined> {
      const session = await read(id, now)
      return session !== undefined && session.expires_at > now ? session : undefined
    },

    /** A card session to end: live, or ended less than `endedCardSessionKeptMs` ago. */
    getToEnd(id: string, now: number): Promise<CardSession | undefined> {
      return read(id, now)
    },

    /**
     * Rewrites the record with the role. The caller has just read it live; an end racing with this
     * could leave the record behind, but only the agent holding its key (which is the one ending it)
     * could use it, and it expires with the card session.
     */
    async setRole(session: CardSession, roleId: string): Promise<void> {
      await store.interactions.put(toRecord({ ...session, selected_roleid: roleId }))
    },

    /** True when this call ended it (of concurrent enders, one). */
    end(id: string): Promise<boolean> {
      return store.interactions.remove(prefix + id)
    },
  }
}

export type CardSessions = ReturnType<typeof createCardSessions>
