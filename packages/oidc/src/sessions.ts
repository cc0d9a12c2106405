/**
 * SSO sessions. The cookie holds a random secret; the store keys the session by its SHA-256, so a
 * read of the store does not yield usable cookies. `sid` is a separate public id (ID token `sid`,
 * back-channel logout). Limits follow the assurance level reached (NIST SP 800-63B): a session
 * ends at its absolute limit, or earlier after its idle limit without use, and never later than
 * what it is bound to (a card session), so the sweep ends it when that ends. Whenever a session
 * ends, every relying party that took part in it is owed a back-channel logout, and every grant
 * made in it is revoked with its access and refresh tokens: OIDC Back-Channel Logout 1.0 2.7,
 * refresh tokens issued without `offline_access` "SHOULD be revoked" at logout, and CIS2 has no
 * `offline_access`.
 */
import type { LogoutNotification, SessionRecord, Store } from '@careid/ports'
import type { ClientRegistry } from './clients.ts'
import type { ProviderConfig } from './config.ts'
import { randomToken, sha256 } from './crypto.ts'

export type Aal = 1 | 2 | 3

export interface SignIn {
  sub: string
  amr: string[]
  aal: Aal
  auth_time: number
  selected_roleid?: string | undefined
  binding?: string | undefined
  /** When the binding ends (a card session's end): the session's limits stop there. */
  binding_ends_at?: number | undefined
}

export type SessionEndReason = 'logout' | 'timeout' | 'replaced' | 'card_removed' | 'card_revoked' | 'device_revoked' | 'admin'

/**
 * The replay-cache key marking a session as ended. A code issued in the session may be redeemed
 * while it ends: the redemption stores its grant, then looks for this mark and revokes the grant
 * itself if the mark is there (see grants/authorization_code.ts), so no grant outlives its session.
 */
export function sessionEndedMark(sid: string): string {
  return `session_ended:${sid}`
}

export interface SessionService {
  /** The live session a cookie secret points at; an expired one is ended on the way. */
  resolve(secret: string | undefined): Promise<SessionRecord | undefined>
  /**
   * The session as the store holds it now, if it may still issue anything: undefined when it is
   * gone, re-authenticated since (it moved to a new hash), locked, or past a limit (then ended on
   * the way). Read again just before a code is issued, however long ago the session was looked up.
   */
  current(sessionHash: string): Promise<SessionRecord | undefined>
  /** A new session; returns the cookie secret. */
  start(signIn: SignIn): Promise<{ session: SessionRecord; secret: string }>
  /**
   * A fresh sign-in while `current` is live: the same person keeps the session (and sid) with new
   * authentication facts and a new cookie secret (the old one finds nothing afterwards); a
   * different person ends it and starts another.
   */
  signInAgain(current: SessionRecord, signIn: SignIn): Promise<{ session: SessionRecord; secret: string }>
  end(session: SessionRecord, reason: SessionEndReason): Promise<void>
  /** Ends the session a `sid` names (RP-initiated logout without the cookie). */
  endBySid(sid: string, reason: SessionEndReason): Promise<SessionRecord | undefined>
  /** Ends every session bound to an authenticator binding (e.g. a card session). */
  endByBinding(binding: string, reason: SessionEndReason): Promise<number>
  /** Ends every session of one person (an administrator's action). */
  endBySub(sub: string, reason: SessionEndReason): Promise<number>
  /**
   * Locks every session bound to a binding: they stay (same sid, relying parties not logged out)
   * but answer no request until the person signs in again, which rebinds them.
   */
  lockByBinding(binding: string): Promise<number>
  /** Ends sessions past their limits. */
  sweep(): Promise<number>
}

/** A locked session's binding: the one it had, marked, so no live card session matches it. */
const lockedPrefix = 'locked:'

export function isLocked(session: Pick<SessionRecord, 'binding'>): boolean {
  return session.binding?.startsWith(lockedPrefix) === true
}

/** The binding a session had before it was locked (itself if it is not locked). */
export function unlockedBinding(binding: string): string {
  return binding.startsWith(lockedPrefix) ? binding.slice(lockedPrefix.length) : binding
}

/** Minimum gap between two idle-timer refreshes of one session: spares a write per request. */
const touchEveryMs = 5_000
const sweepBatch = 100

export function createSessionService(deps: {
  store: Store
  clients: ClientRegistry
  config: ProviderConfig
  now: () => number
  /**
   * Called once for every session this service ended (not when another caller ended it first),
   * after its logout notifications were queued: e.g. to tell other nodes and the Identity Agent.
   */
  onEnded?: ((session: SessionRecord, reason: SessionEndReason) => void) | undefined
}): SessionService {
  const { store, config, now } = deps

  function limits(signIn: Pick<SignIn, 'aal' | 'auth_time' | 'binding_ends_at'>, t: number) {
    const { idleMs, absoluteMs } = config.sessionLimits[signIn.aal]
    const expires_at = Math.min(signIn.auth_time + absoluteMs, signIn.binding_ends_at ?? Number.POSITIVE_INFINITY)
    return { expires_at, idle_expires_at: Math.min(t + idleMs, expires_at) }
  }

  async function notifyRelyingParties(session: SessionRecord, clientIds: readonly string[]): Promise<void> {
    const t = now()
    const notifications: LogoutNotification[] = []
    for (const clientId of clientIds) {
      const client = await deps.clients.get(clientId)
      if (client?.backchannel_logout_uri === undefined) continue
      notifications.push({
        id: randomToken(16),
        client_id: clientId,
        backchannel_logout_uri: client.backchannel_logout_uri,
        sub: session.sub,
        sid: session.sid,
        created_at: t,
        attempts: 0,
        next_attempt_at: t,
      })
    }
    if (notifications.length > 0) await store.outbox.enqueue(notifications)
  }

  async function end(session: SessionRecord, reason: SessionEndReason): Promise<void> {
    // Everything owed is done before the session is deleted, so a crash at any point leaves either a
    // live session (ended again later: each step below is idempotent) or a deleted one with nothing
    // left behind: its relying parties' notifications queued (the outbox keeps one per relying
    // party and session), and its grants revoked.
    await notifyRelyingParties(session, session.clients)
    const t = now()
    // The mark first: a code redemption that stores its grant after the revocation below finds it.
    // It lasts as long as any code issued in the session could still be redeemed.
    await store.replay.markUsed(sessionEndedMark(session.sid), t + config.codeTtlMs + config.codeRetainMs, t)
    await store.grants.revokeBySid(session.sid, t)
    // remove() is atomic: of two concurrent enders only one gets the record back.
    const removed = await store.sessions.remove(session.session_hash)
    if (removed === undefined) return
    // A relying party may have joined after our copy of the record was read.
    const late = removed.clients.filter((c) => !session.clients.includes(c))
    if (late.length > 0) await notifyRelyingParties(removed, late)
    await store.audit.append({ at: now(), type: 'session.ended', subject: removed.sub, detail: { reason, sid: removed.sid } })
    deps.onEnded?.(removed, reason)
  }

  async function start(signIn: SignIn) {
    const t = now()
    const secret = randomToken(32)
    const session: SessionRecord = {
      session_hash: sha256(secret),
      sid: randomToken(16),
      sub: signIn.sub,
      amr: signIn.amr,
      aal: signIn.aal,
      auth_time: signIn.auth_time,
      created_at: t,
      last_seen_at: t,
      ...limits(signIn, t),
      selected_roleid: signIn.selected_roleid,
      clients: [],
      binding: signIn.binding,
    }
    await store.sessions.create(session)
    await store.audit.append({ at: t, type: 'session.started', subject: signIn.sub, detail: { amr: signIn.amr, sid: session.sid } })
    return { session, secret }
  }

  return {
    async resolve(secret) {
      if (secret === undefined || secret.length === 0 || secret.length > 128) return undefined
      const hash = sha256(secret)
      const session = await store.sessions.get(hash)
      if (session === undefined) return undefined
      const t = now()
      if (session.expires_at <= t || session.idle_expires_at <= t) {
        await end(session, 'timeout')
        return undefined
      }
      if (t - session.last_seen_at >= touchEveryMs) {
        const idle_expires_at = Math.min(t + config.sessionLimits[session.aal].idleMs, session.expires_at)
        await store.sessions.touch(hash, t, idle_expires_at)
        session.last_seen_at = t
        session.idle_expires_at = idle_expires_at
      }
      return session
    },

    async current(sessionHash) {
      const session = await store.sessions.get(sessionHash)
      if (session === undefined || isLocked(session)) return undefined
      const t = now()
      if (session.expires_at <= t || session.idle_expires_at <= t) {
        await end(session, 'timeout')
        return undefined
      }
      return session
    },

    start,

    async signInAgain(current, signIn) {
      // Someone else signing in (a step-up or prompt=login on a shared workstation) carries nothing
      // of the first person's session: it ends, its relying parties are told and its tokens revoked,
      // and the second person gets a session (and sid) of their own. oidc-provider does the same (it
      // logs the first account out before signing the second in); refusing instead, as Keycloak does
      // ("already authenticated as different user"), would leave the next worker at a shared computer
      // unable to sign in without the first one's sign-out. A relying party that names the person it
      // expects (id_token_hint) gets login_required instead, before anything changes.
      if (current.sub !== signIn.sub) {
        await end(current, 'replaced')
        return start(signIn)
      }
      const t = now()
      // A new secret for every re-authentication (OWASP Session Management Cheat Sheet: "The
      // session ID must be renewed or regenerated by the web application after any privilege level
      // change"): a cookie value seen before a step-up, or while the session was locked, is worth
      // nothing after it.
      const secret = randomToken(32)
      const changes = {
        session_hash: sha256(secret),
        amr: signIn.amr,
        aal: signIn.aal,
        auth_time: signIn.auth_time,
        last_seen_at: t,
        ...limits(signIn, t),
        binding: signIn.binding,
      }
      if (!(await store.sessions.reauthenticate(current.session_hash, changes))) return start(signIn)
      if (signIn.selected_roleid !== undefined) await store.sessions.setSelectedRole(changes.session_hash, signIn.selected_roleid)
      await store.audit.append({ at: t, type: 'session.reauthenticated', subject: signIn.sub, detail: { amr: signIn.amr, sid: current.sid } })
      return { session: { ...current, ...changes, selected_roleid: signIn.selected_roleid ?? current.selected_roleid }, secret }
    },

    end,

    async endBySid(sid, reason) {
      const session = await store.sessions.getBySid(sid)
      if (session !== undefined) await end(session, reason)
      return session
    },

    async endByBinding(binding, reason) {
      const sessions = await store.sessions.listByBinding(binding)
      for (const session of sessions) await end(session, reason)
      return sessions.length
    },

    async endBySub(sub, reason) {
      const sessions = await store.sessions.listBySub(sub)
      for (const session of sessions) await end(session, reason)
      return sessions.length
    },

    async lockByBinding(binding) {
      const sessions = await store.sessions.listByBinding(binding)
      let locked = 0
      for (const s of sessions) {
        // The cookie keeps finding it (same hash), so the card can unlock it; nothing else changes.
        const facts = { session_hash: s.session_hash, amr: s.amr, aal: s.aal, auth_time: s.auth_time, last_seen_at: s.last_seen_at, expires_at: s.expires_at, idle_expires_at: s.idle_expires_at }
        if (!(await store.sessions.reauthenticate(s.session_hash, { ...facts, binding: lockedPrefix + binding }))) continue
        locked++
        await store.audit.append({ at: now(), type: 'session.locked', subject: s.sub, detail: { sid: s.sid } })
      }
      return locked
    },

    async sweep() {
      let ended = 0
      for (;;) {
        const expired = await store.sessions.listExpired(now(), sweepBatch)
        for (const session of expired) await end(session, 'timeout')
        ended += expired.length
        if (expired.length < sweepBatch) return ended
      }
    },
  }
}
