/**
 * The agent's calls to the provider's `{issuer}/agent/...` endpoints. Calls after the card session
 * opened carry its secret and a one-use proof signed by the agent instance key.
 */
import { randomBytes } from 'node:crypto'
import type { PasscodeCheckResult, PasscodeProofs } from '@careid/cards'
import type { RoleOption } from '@careid/domain'
import type { OpenedCardSession } from '@careid/smartcard'
import type { AgentKey } from './signing.ts'
import { signCompact } from './signing.ts'

// The provider's answers, typed where the provider defines them (one wire format).
export type { OpenedCardSession, RoleOption }

/** The provider said no: its `error` code and the HTTP status. */
export class ProviderRefusal extends Error {
  override name = 'ProviderRefusal'
  readonly error: string
  readonly status: number
  /** With `wrong_passcode`: the wrong passcodes the card still takes before it locks. */
  readonly attemptsLeft: number | undefined
  constructor(error: string, status: number, description: string, attemptsLeft?: number) {
    super(description)
    this.error = error
    this.status = status
    this.attemptsLeft = attemptsLeft
  }
}

/** The provider could not be reached (or timed out); the cause stays in `cause`. */
export class ProviderUnreachable extends Error {
  override name = 'ProviderUnreachable'
}

export function createProviderClient(options: { issuer: string; key: AgentKey; fetch?: typeof fetch }) {
  const doFetch = options.fetch ?? fetch

  async function post<T>(path: string, body: unknown, secret?: string): Promise<T> {
    const url = options.issuer + path
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' }
    if (secret !== undefined) {
      headers.authorization = `Bearer ${secret}`
      const proof = { htm: 'POST', htu: url, iat: Math.floor(Date.now() / 1000), jti: randomBytes(16).toString('base64url') }
      headers['agent-proof'] = await signCompact(options.key.sign, { typ: 'agent-proof+jwt' }, proof)
    }
    let response: Response
    let text: string
    try {
      response = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body ?? {}), signal: AbortSignal.timeout(15_000) })
      text = await response.text()
    } catch (error) {
      throw new ProviderUnreachable(`${url} could not be reached`, { cause: error })
    }
    let json: Record<string, unknown> = {}
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      // A proxy's error page: reported by status below.
    }
    if (!response.ok) {
      const left = typeof json.attempts_left === 'number' ? json.attempts_left : undefined
      throw new ProviderRefusal(String(json.error ?? 'provider_error'), response.status, String(json.error_description ?? `the provider answered ${response.status}`), left)
    }
    return json as T
  }

  return {
    challenge: (serial: string) => post<{ challenge: string; expires_at: number; attempts_left?: number }>('/agent/challenge', { serial }),
    /** A virtual card's passcode attempt: the provider's share for the right passcode; wrong or locked as answers, anything else thrown. */
    async passcode(serial: string, challenge: string, proofs: PasscodeProofs): Promise<PasscodeCheckResult> {
      try {
        const { share } = await post<{ share: string }>('/agent/passcode', { serial, challenge, ...proofs })
        return { ok: true, share }
      } catch (error) {
        if (error instanceof ProviderRefusal && error.error === 'wrong_passcode') return { ok: false, reason: 'wrong_passcode', attemptsLeft: error.attemptsLeft ?? 0 }
        if (error instanceof ProviderRefusal && error.error === 'card_locked') return { ok: false, reason: 'locked' }
        throw error
      }
    },
    /** A token's PIN is locked: the card's authentication key signed this report over a challenge. */
    cardLocked: (serial: string, challenge: string, signature: string) => post<{ locked: true }>('/agent/card/locked', { serial, challenge, signature }),
    openSession: (assertion: string) => post<OpenedCardSession>('/agent/session', { assertion, agent_key: options.key.publicJwk }),
    selectRole: (secret: string, personRoleId: string) => post<{ selected_roleid: string }>('/agent/session/role', { person_roleid: personRoleId }, secret),
    endSession: (secret: string) => post<{ sessions_ended: number; sessions_locked: number }>('/agent/session/end', {}, secret),
  }
}

export type ProviderClient = ReturnType<typeof createProviderClient>
