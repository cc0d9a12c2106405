/**
 * The agent's calls to the provider's `{issuer}/agent/...` endpoints. Calls after the card session
 * opened carry its secret and a one-use proof signed by the agent instance key.
 */
import { randomBytes } from 'node:crypto'
import type { RoleOption } from '@careid/domain'
import type { OpenedCardSession } from '@careid/oidc'
import type { AgentKey } from './signing.ts'
import { signCompact } from './signing.ts'

// The provider's answers, typed where the provider defines them (one wire format).
export type { OpenedCardSession, RoleOption }

/** The provider said no: its `error` code and the HTTP status. */
export class ProviderRefusal extends Error {
  override name = 'ProviderRefusal'
  readonly error: string
  readonly status: number
  constructor(error: string, status: number, description: string) {
    super(description)
    this.error = error
    this.status = status
  }
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
    const response = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body ?? {}), signal: AbortSignal.timeout(15_000) })
    const text = await response.text()
    let json: Record<string, unknown> = {}
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      // A proxy's error page: reported by status below.
    }
    if (!response.ok) throw new ProviderRefusal(String(json.error ?? 'provider_error'), response.status, String(json.error_description ?? `the provider answered ${response.status}`))
    return json as T
  }

  return {
    challenge: (serial: string) => post<{ challenge: string; expires_at: number; attempts_left: number }>('/agent/challenge', { serial }),
    openSession: (assertion: string) => post<OpenedCardSession>('/agent/session', { assertion, agent_key: options.key.publicJwk }),
    selectRole: (secret: string, personRoleId: string) => post<{ selected_roleid: string }>('/agent/session/role', { person_roleid: personRoleId }, secret),
    endSession: (secret: string) => post<{ sessions_ended: number; sessions_locked: number }>('/agent/session/end', {}, secret),
  }
}

export type ProviderClient = ReturnType<typeof createProviderClient>
