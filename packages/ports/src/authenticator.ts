/**
 * The authenticator port. Each way of proving who a worker is (password, TOTP app, and later
 * smartcard, FIDO2, Windows Hello, passkey, iPad app) is a small state machine behind this one
 * interface; the sign-in journey in the OpenID provider drives it without knowing which it is.
 *
 * A step either needs more input (`continue`, with the page to show), failed in an expected way
 * (`failure`: wrong password, locked, used code; with the page to show again), or proved a person
 * (`success`). Expected failures are data, never exceptions.
 */
import type { SecretBox } from './secret_box.ts'
import type { AuditLog, CardStore, CredentialStore, InteractionStore, Json, PersonStore, RateCounter, ReplayCache } from './store.ts'

export type Aal = 1 | 2 | 3

/** What an authenticator proves, in CIS2's vocabulary (cis2.md section 3.6). */
export interface AuthenticationMethod {
  /** Stable id, used in URLs: `password`, `totp`, `smartcard`, ... */
  id: string
  /** The `amr` value it produces, e.g. `TOTP`. */
  amr: string
  /** Other `amr` values it may produce instead (a smartcard: `N3_SMARTCARD` or `CIS2_SMARTCARD`). */
  otherAmr?: readonly string[] | undefined
  /** The authenticator assurance level it reaches. */
  aal: Aal
  /** The method-specific ACR it satisfies, e.g. `AAL2_TOTP`. */
  acr: string
  /** Shown on the choice page. */
  label: string
  description: string
}

/** Error keys the UI has words for. */
export type AuthenticationError =
  | 'invalid_credentials'
  | 'invalid_code'
  | 'code_already_used'
  | 'locked'
  | 'missing_input'
  | 'not_enrolled'
  | 'invalid_ticket'
  | 'challenge_expired'
  | 'card_not_valid'
  | 'card_session_ended'
  | 'method_not_accepted'

/** What the page for the current step shows. `page` names a UI template. */
export interface StepView {
  page: string
  /** Values to put back into the form (never a secret). */
  values?: Record<string, string> | undefined
  error?: AuthenticationError | undefined
  /** Extra template data (e.g. seconds until a lock ends). */
  data?: Record<string, Json> | undefined
}

export type StepResult =
  | { type: 'continue'; state: Json; view: StepView }
  | { type: 'failure'; state: Json; view: StepView; reason: AuthenticationError }
  | {
      type: 'success'
      uid: string
      /** amr values, e.g. ['TOTP']. */
      amr: string[]
      /** A binding the session hangs on (e.g. a card session); sessions are listed by it. */
      binding?: string | undefined
      /** When the binding ends (a card session's end): the session may not last longer. */
      binding_ends_at?: number | undefined
      /** A role already chosen during authentication (e.g. at card insertion). */
      selected_roleid?: string | undefined
    }

/** What the journey gives every step: the time and what it knows of the request. */
export interface AuthenticatorContext {
  now: number
  /** The login_hint of the request, if any: a username to prefill. */
  loginHint?: string | undefined
  /** The client's address, as the HTTP layer sees it: guesses are limited per source. */
  source?: string | undefined
}

/**
 * The store parts an authenticator that checks a person's own credentials (password, TOTP, and
 * later WebAuthn) may use: looking a person up by username, their credentials, the guess counters,
 * and the box that seals credential secrets. Nothing else of the store is within its reach.
 */
export interface CredentialContext {
  people: Pick<PersonStore, 'getByUsername'>
  credentials: CredentialStore
  rates: RateCounter
  secrets: SecretBox
}

/**
 * The store parts the smartcard plugin may use: card records, the short-lived store (card challenges
 * and card sessions live there under their own prefixes), one-use marks, the card holder's record
 * (for their roles) and the audit log.
 */
export interface CardContext {
  cards: CardStore
  interactions: InteractionStore
  replay: ReplayCache
  people: Pick<PersonStore, 'get'>
  audit: Pick<AuditLog, 'append'>
}

/**
 * An authenticator drives one way of signing in. `Needs` is what it uses beyond the step context
 * (e.g. `CredentialContext`); the composition root binds those parts to it (`bindAuthenticator`),
 * so the journey only ever hands over the step context and never the store.
 */
export interface Authenticator<Needs = unknown> {
  readonly method: AuthenticationMethod
  /** The first step of a new attempt. */
  start(ctx: AuthenticatorContext & Needs): Promise<{ state: Json; view: StepView }>
  /** Takes the form the person submitted for the current step. */
  submit(ctx: AuthenticatorContext & Needs, state: Json, input: Record<string, string>): Promise<StepResult>
}
