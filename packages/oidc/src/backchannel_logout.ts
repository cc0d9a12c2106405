/**
 * OpenID Connect Back-Channel Logout 1.0: when a session ends, each relying party that took part
 * and registered a `backchannel_logout_uri` is sent a logout token (cis2.md 1.8): iss, aud, iat,
 * exp, jti, sub, sid, the back-channel logout event, and never a nonce ("A nonce Claim MUST NOT be
 * present"). Notifications wait in a durable outbox and are retried with exponential back-off until
 * a 2xx, or given up after a configurable time. The token is signed at each attempt, so a late
 * delivery still carries a fresh `iat` (relying parties check it within minutes).
 */
import type { LogoutNotification, LogoutOutbox } from '@careid/ports'
import type { ProviderConfig } from './config.ts'
import { randomToken } from './crypto.ts'

export const backchannelLogoutEvent = 'http://schemas.openid.net/event/backchannel-logout'

export interface LogoutSigner {
  sign(payload: Record<string, unknown>, typ: string): string
}

export interface LogoutMetrics {
  delivered(): void
  failed(): void
  gaveUp(): void
}

export interface LogoutDispatcher {
  /** Claims and sends what is due; returns how many were attempted. */
  runOnce(): Promise<number>
  start(intervalMs: number): void
  /**
   * Stops the loop, abandons the attempts in flight (not counted as failures: the relying party did
   * nothing wrong) and releases this node's claims, so another node sends them at once rather than
   * when the lease runs out.
   */
  stop(): Promise<void>
}

const logoutTokenTtlSeconds = 120
const attemptTimeoutMs = 5_000
const leaseMs = 30_000

export function logoutTokenClaims(n: LogoutNotification, issuer: string, nowMs: number): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000)
  return {
    iss: issuer,
    aud: n.client_id,
    iat,
    exp: iat + logoutTokenTtlSeconds,
    jti: randomToken(16),
    sub: n.sub,
    sid: n.sid,
    events: { [backchannelLogoutEvent]: {} },
  }
}

export function createLogoutDispatcher(deps: {
  outbox: LogoutOutbox
  signer: LogoutSigner
  config: ProviderConfig
  node: string
  now: () => number
  fetch?: typeof fetch
  metrics?: LogoutMetrics
}): LogoutDispatcher {
  const send = deps.fetch ?? fetch
  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined
  /** Aborted by stop(): a node that is shutting down does not wait on a slow relying party. */
  let stopping = new AbortController()

  async function attempt(n: LogoutNotification): Promise<void> {
    const t = deps.now()
    const token = deps.signer.sign(logoutTokenClaims(n, deps.config.issuer, t), 'logout+jwt')
    let failure: string | undefined
    try {
      const response = await send(n.backchannel_logout_uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(attemptTimeoutMs), stopping.signal]),
      })
      // The answer is the status alone; a body cut short (by stop()) does not undo a 2xx.
      await response.body?.cancel().catch(() => undefined)
      if (response.status < 200 || response.status > 299) failure = `HTTP ${response.status}`
    } catch (error) {
      // Abandoned by stop(): the row is left as it was (still due), for the claim to be released.
      if (stopping.signal.aborted) return
      failure = (error as Error).name === 'TimeoutError' ? 'timeout' : 'network error'
    }
    if (failure === undefined) {
      await deps.outbox.markDelivered(n.id, deps.node, deps.now())
      deps.metrics?.delivered()
      return
    }
    const after = deps.now()
    if (after - n.created_at >= deps.config.logoutGiveUpMs) {
      await deps.outbox.markGaveUp(n.id, deps.node, failure, after)
      deps.metrics?.gaveUp()
      return
    }
    const backoff = Math.min(deps.config.logoutRetryBaseMs * 2 ** n.attempts, deps.config.logoutRetryMaxMs)
    // Jitter spreads retries of many notifications to one recovering relying party.
    const delay = Math.round(backoff / 2 + Math.random() * (backoff / 2))
    await deps.outbox.markFailed(n.id, deps.node, failure, after + delay)
    deps.metrics?.failed()
  }

  async function runOnce(): Promise<number> {
    const due = await deps.outbox.claimDue(deps.node, deps.now(), leaseMs, 20)
    await Promise.all(due.map(attempt))
    return due.length
  }

  function loop(intervalMs: number) {
    timer = setTimeout(async () => {
      running = runOnce().catch(() => 0)
      const count = await running
      running = undefined
      if (timer !== undefined) loop(count > 0 ? 0 : intervalMs)
    }, intervalMs)
  }

  return {
    runOnce,
    start(intervalMs) {
      if (stopping.signal.aborted) stopping = new AbortController()
      if (timer === undefined) loop(intervalMs)
    },
    async stop() {
      clearTimeout(timer)
      timer = undefined
      stopping.abort()
      await running
      await deps.outbox.releaseClaims(deps.node)
    },
  }
}
