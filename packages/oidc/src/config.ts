/**
 * Provider configuration: lifetimes and policy. Defaults follow CIS2 where it is known
 * (cis2.md 1.7) and NIST SP 800-63B session limits per assurance level.
 */
export interface SessionLimits {
  /** Ends the session after this long without activity. */
  idleMs: number
  /** Ends the session this long after sign-in, whatever the activity. */
  absoluteMs: number
}

export interface ProviderConfig {
  /** The issuer identifier, used verbatim everywhere (an explicit `:443` survives). */
  issuer: string
  /** Authorization code lifetime: at most 60 s. */
  codeTtlMs: number
  /** How long a redeemed code is remembered so its reuse is detected and its grant revoked. */
  codeRetainMs: number
  idTokenTtlMs: number
  /** CIS2 access tokens: expires_in 3599. */
  accessTokenTtlMs: number
  refreshTokenTtlMs: number
  /** A sign-in journey (the interaction) must finish within this. */
  interactionTtlMs: number
  /** Client assertions may expire at most this far ahead. */
  clientAssertionMaxTtlMs: number
  /** NIST SP 800-63B: AAL3 15 min idle / 12 h; AAL2 30 min / 12 h. */
  sessionLimits: Record<1 | 2 | 3, SessionLimits>
  /** Back-channel logout delivery: first retry delay, cap, and when to give up. */
  logoutRetryBaseMs: number
  logoutRetryMaxMs: number
  logoutGiveUpMs: number
  /** The Identity Agent's local API, which the smartcard sign-in page talks to (its only extra connect-src). */
  agentOrigin: string
  /**
   * When a sign-in goes straight to the Identity Agent by redirect (its first step a handoff, no
   * page shown) rather than to the method choice or the smartcard page: `hinted`, only for a
   * browser in which an agent's ticket has succeeded before (a cookie says so); `always`, every
   * browser (an estate where every workstation runs the agent: elsewhere the browser would land on
   * a port nobody answers); `never`.
   */
  agentHandoff: AgentHandoff
}

export type AgentHandoff = 'hinted' | 'always' | 'never'
export const agentHandoffModes: readonly AgentHandoff[] = ['hinted', 'always', 'never']

const minute = 60_000
const hour = 60 * minute

export function defaultConfig(issuer: string): ProviderConfig {
  return {
    issuer,
    codeTtlMs: 60_000,
    codeRetainMs: 10 * minute,
    idTokenTtlMs: 5 * minute,
    accessTokenTtlMs: 3599_000,
    refreshTokenTtlMs: 12 * hour,
    interactionTtlMs: 30 * minute,
    clientAssertionMaxTtlMs: 5 * minute,
    sessionLimits: {
      1: { idleMs: 30 * minute, absoluteMs: 12 * hour },
      2: { idleMs: 30 * minute, absoluteMs: 12 * hour },
      3: { idleMs: 15 * minute, absoluteMs: 12 * hour },
    },
    logoutRetryBaseMs: 1_000,
    logoutRetryMaxMs: 5 * minute,
    logoutGiveUpMs: 24 * hour,
    agentOrigin: 'http://127.0.0.1:4445',
    agentHandoff: 'hinted',
  }
}

/** The ForgeRock realm of a CIS2-shaped issuer: `/NHSIdentity/Healthcare`; `/` otherwise. */
export function realmOf(issuer: string): string {
  const path = new URL(issuer).pathname
  const parts = [...path.matchAll(/\/realms\/([^/]+)/g)].map((m) => m[1]).filter((r) => r !== 'root')
  return parts.length > 0 ? `/${parts.join('/')}` : '/'
}
