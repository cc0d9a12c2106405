/**
 * The smartcard authenticator (cis2.md 3.6 and 5): the sign-in page asks the Identity Agent on the
 * person's computer for a ticket over a challenge bound to this sign-in, and posts it back.
 *
 * - Identity Agent mode (CIS1 style): the person signed in at the agent with card and passcode; the
 *   ticket is signed by the card and by the agent's instance key, and names the card session. The
 *   sign-in is `N3_SMARTCARD`, bound to the card session (card removal ends it), with the role
 *   chosen at the agent as `selected_roleid`. No passcode is asked in the browser.
 * - Smartcard Connect mode: the agent asks the passcode for this sign-in and the card signs the
 *   challenge together with a fresh card challenge (a virtual card's passcode is checked and counted
 *   at the provider's passcode check before its key opens; a token counts its own PIN); the sign-in
 *   is `CIS2_SMARTCARD`, bound to nothing (removal logs nobody out, cis2.md 4).
 *
 * Both are AAL3, so they meet AAL3_ANY, AAL2_OR_AAL3_ANY, AAL2_ANY, AAL3_SMARTCARD and their own
 * AAL3_N3_SMARTCARD / AAL3_CIS2_SMARTCARD.
 *
 * Handoff (cis2.md 5.2: with a CIS1 session the worker "is not asked to sign in again. They do see
 * browser redirects"): instead of the page, the browser is sent to the agent's
 * `GET /handoff?challenge=...&interaction=...`, which answers from its card session alone
 * (getTicketNoAuth) by redirecting to `{issuer}/interaction/{id}/smartcard/return` with the ticket,
 * or with `error` when it has none to give (then the journey shows its pages as usual).
 */
import { createHash, randomBytes } from 'node:crypto'
import { storedStepView, type AuthenticationMethod, type Authenticator, type AuthenticatorContext, type Json, type ReplayCache, type StepPage, type StepResult, type StepView } from '@careid/ports'
import type { CardCertificateVerifier, CardChallenges } from './card_challenges.ts'
import type { CardSessions } from './card_sessions.ts'
import { compactHeader, parseGeneralJws, pemOfX5c, verifyCompact, verifyGeneralSignature, type Json as Claims } from './jws.ts'

/** How long the page has to bring back a ticket for its challenge. */
export const ticketChallengeTtlMs = 60_000
/** A ticket may not claim to live longer than this. */
const maxTicketLifetimeS = 120

export const SMARTCARD_PAGE = 'smartcard'

/**
 * What the smartcard page can say went wrong; `method_not_accepted` is the journey's: the card
 * signed in in a mode (`amr`) the application does not accept.
 */
type SmartcardError = 'invalid_ticket' | 'challenge_expired' | 'card_not_valid' | 'card_session_ended' | 'method_not_accepted' | 'missing_input'
const smartcardErrors: readonly SmartcardError[] = ['invalid_ticket', 'challenge_expired', 'card_not_valid', 'card_session_ended', 'method_not_accepted', 'missing_input']

declare module '@careid/ports' {
  interface StepPages {
    /** The page asking the Identity Agent for a ticket over `challenge`, at `agent_origin`. */
    smartcard: { error: SmartcardError; values: {}; data: { challenge: string; agent_origin: string } }
  }
}

/** The smartcard page's stored views, checked when the journey reads them back. */
const smartcardPage: StepPage<'smartcard'> = {
  name: SMARTCARD_PAGE,
  decode(stored) {
    const parts = storedStepView(stored, smartcardErrors)
    const challenge = parts?.data['challenge']
    const agentOrigin = parts?.data['agent_origin']
    if (parts === undefined || parts.values !== undefined || typeof challenge !== 'string' || typeof agentOrigin !== 'string') return undefined
    return { page: SMARTCARD_PAGE, error: parts.error, data: { challenge, agent_origin: agentOrigin } }
  },
}

export interface SmartcardAuthenticatorOptions {
  issuer: string
  /** The Identity Agent's local API, e.g. `http://127.0.0.1:4445`: the page's only other connect-src. */
  agentOrigin: string
  verifyCard: CardCertificateVerifier
  cardSessions: CardSessions
  cardChallenges: CardChallenges
  /** Resets the passcode counter after a valid card signature. */
  passcodeProven: (serial: string) => Promise<boolean>
  /** Where a sign-in's challenge is marked used. */
  replay: Pick<ReplayCache, 'markUsed'>
  label?: string | undefined
  description?: string | undefined
}

type State = { challenge: string; exp: number }

export function smartcardAuthenticator(options: SmartcardAuthenticatorOptions): Authenticator {
  const method: AuthenticationMethod = {
    id: 'smartcard',
    amr: 'N3_SMARTCARD',
    otherAmr: ['CIS2_SMARTCARD'],
    aal: 3,
    acr: 'AAL3_SMARTCARD',
    label: options.label ?? 'Smartcard',
    description: options.description ?? 'Sign in with your NHS smartcard, through the Identity Agent on this computer.',
  }

  function fresh(now: number, error?: SmartcardError): { state: Json; view: StepView<'smartcard'> } {
    const state: State = { challenge: randomBytes(32).toString('base64url'), exp: now + ticketChallengeTtlMs }
    return {
      state,
      view: { page: SMARTCARD_PAGE, error, data: { challenge: state.challenge, agent_origin: options.agentOrigin } },
    }
  }

  function failure(now: number, reason: SmartcardError): StepResult {
    return { type: 'failure', reason, ...fresh(now, reason) }
  }

  /** The claims every ticket must carry for this sign-in. */
  function ticketClaimsOk(claims: { [key: string]: Claims }, purpose: string, state: State, now: number): boolean {
    const nowS = Math.floor(now / 1000)
    return (
      claims.purpose === purpose &&
      claims.aud === options.issuer &&
      claims.challenge === state.challenge &&
      typeof claims.exp === 'number' &&
      typeof claims.iat === 'number' &&
      claims.exp > nowS &&
      claims.exp - claims.iat <= maxTicketLifetimeS
    )
  }

  /** Identity Agent mode: a general JWS signed by the card and by the agent instance key. */
  async function identityAgentTicket(ctx: AuthenticatorContext, text: string, state: State): Promise<StepResult> {
    const jws = parseGeneralJws(text)
    if (jws === undefined || jws.signatures.length !== 2) return failure(ctx.now, 'invalid_ticket')
    let claimed: unknown
    try {
      claimed = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'))
    } catch {
      return failure(ctx.now, 'invalid_ticket')
    }
    const id = (claimed as { card_session?: unknown } | null)?.card_session
    if (typeof id !== 'string') return failure(ctx.now, 'invalid_ticket')
    const session = await options.cardSessions.get(id, ctx.now)
    if (session === undefined) return failure(ctx.now, 'card_session_ended')
    const byCard = await verifyGeneralSignature(jws, 0, { pem: session.certificate })
    const byAgent = await verifyGeneralSignature(jws, 1, { jwk: session.agent_jwk })
    if (byCard === undefined || byAgent === undefined || !ticketClaimsOk(byCard, 'ticket', state, ctx.now)) return failure(ctx.now, 'invalid_ticket')
    const card = await options.verifyCard(session.certificate, ctx.now)
    if (!card.ok) return failure(ctx.now, 'card_not_valid')
    if (!(await useChallenge(ctx, state))) return failure(ctx.now, 'invalid_ticket')
    return {
      type: 'success',
      uid: session.uid,
      amr: ['N3_SMARTCARD'],
      binding: session.id,
      binding_ends_at: session.expires_at,
      selected_roleid: session.selected_roleid,
      // An Identity Agent answered through this browser, from its card session: it can be handed off to.
      handoff_ready: true,
    }
  }

  /** Smartcard Connect mode: a compact JWS by the card (x5c), over this challenge and a card challenge. */
  async function connectTicket(ctx: AuthenticatorContext, text: string, state: State): Promise<StepResult> {
    const header = compactHeader(text)
    const x5c = header?.x5c
    const pem = Array.isArray(x5c) && typeof x5c[0] === 'string' ? pemOfX5c(x5c[0]) : undefined
    if (header?.alg !== 'ES256' || pem === undefined) return failure(ctx.now, 'invalid_ticket')
    const card = await options.verifyCard(pem, ctx.now)
    if (!card.ok) return failure(ctx.now, 'card_not_valid')
    const claims = await verifyCompact(text, { pem })
    if (claims === undefined || !ticketClaimsOk(claims, 'connect', state, ctx.now) || typeof claims.card_challenge !== 'string') return failure(ctx.now, 'invalid_ticket')
    if ((await options.cardChallenges.use(claims.card_challenge, card.card.serial, ctx.now)) !== 'ok') return failure(ctx.now, 'invalid_ticket')
    if (!(await useChallenge(ctx, state))) return failure(ctx.now, 'invalid_ticket')
    await options.passcodeProven(card.card.serial)
    return { type: 'success', uid: card.card.uid, amr: ['CIS2_SMARTCARD'] }
  }

  /** Where the agent answers a handoff: the challenge and this journey's id, nothing it would redirect to. */
  function handoffLocation(challenge: string, interactionId: string): string {
    const url = new URL('/handoff', options.agentOrigin)
    url.search = new URLSearchParams({ challenge, interaction: interactionId }).toString()
    return url.href
  }

  /** This sign-in's challenge is good for one ticket. */
  function useChallenge(ctx: AuthenticatorContext, state: State): Promise<boolean> {
    const key = `smartcard-ticket:${createHash('sha256').update(state.challenge).digest('base64url')}`
    return options.replay.markUsed(key, state.exp + ticketChallengeTtlMs, ctx.now)
  }

  return {
    method,
    pages: [smartcardPage],
    async start(ctx) {
      return fresh(ctx.now)
    },
    async handoff(ctx, interactionId) {
      const { state } = fresh(ctx.now)
      return { state, location: handoffLocation((state as State).challenge, interactionId) }
    },
    async submit(ctx, raw, input) {
      const state = raw as State | null
      const ticket = input.ticket ?? ''
      if (state === null || typeof state.challenge !== 'string') return { type: 'continue', ...fresh(ctx.now) }
      // The agent's answer to a handoff when it has no ticket to give (no card, no card session at it).
      if (ticket === '' && input.error !== undefined) return { type: 'declined' }
      if (ticket === '') return failure(ctx.now, 'missing_input')
      if (ticket.length > 16_384) return failure(ctx.now, 'invalid_ticket')
      if (state.exp <= ctx.now) return failure(ctx.now, 'challenge_expired')
      return ticket.startsWith('{') ? identityAgentTicket(ctx, ticket, state) : connectTicket(ctx, ticket, state)
    },
  }
}
