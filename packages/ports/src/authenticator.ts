/**
 * The authenticator port. Each way of proving who a worker is (password, TOTP app, and later
 * smartcard, FIDO2, Windows Hello, passkey, iPad app) is a small state machine behind this one
 * interface; the sign-in journey in the OpenID provider drives it without knowing which it is.
 *
 * A step either needs more input (`continue`, with the page to show), failed in an expected way
 * (`failure`: wrong password, locked, used code; with the page to show again), proved a person
 * (`success`), or, answering a handoff, found that the party it handed the browser to had nothing
 * to give (`declined`). Expected failures are data, never exceptions.
 *
 * A method whose proof comes from a program outside the browser's pages (a smartcard's Identity
 * Agent) may hand the browser off to it by redirect instead of showing a page (`handoff`), and take
 * the answer back by a GET; see `Authenticator.handoff`.
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
  /**
   * The highest authenticator assurance level it reaches: the level the method is offered for
   * (a sign-in may prove less, see `StepResult`'s `aal`).
   */
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
  // WebAuthn (security keys, Windows Hello, passkeys)
  /** The browser or authenticator gave no answer (cancelled, timed out, no key), or one that does not parse. */
  | 'webauthn_cancelled'
  /** No credential registered here answers to what the authenticator sent. */
  | 'unknown_credential'
  /** The signature counter went backwards or stood still where it counts: a cloned authenticator. */
  | 'counter_regression'
  /** Signed for another origin or relying party id. */
  | 'wrong_origin'
  /** The challenge was already answered, or is unknown or expired. */
  | 'challenge_replayed'
  /** The authenticator did not verify the user (PIN or biometric) where the level needs it. */
  | 'user_not_verified'
  /** Registration: the authenticator's attestation is not one the level needs (or does not verify). */
  | 'attestation_not_trusted'
  // The mobile app (AAL3_IOS)
  /** The number chosen on the device was not the one this page shows. */
  | 'number_mismatch'
  /** The request was not approved in time. */
  | 'request_expired'
  /** The request was declined on the device, or the device is revoked or not registered. */
  | 'request_declined'
  /** Not approved on the device yet (the page was submitted before the approval came). */
  | 'not_approved_yet'

/**
 * The step pages authenticators show, by page name: the members of the page union. Each
 * authenticator adds its own pages by declaration merging, beside the code that makes its views:
 *
 * ```ts
 * declare module '@careid/ports' {
 *   interface StepPages {
 *     totp: { error: 'invalid_code' | 'locked' | 'missing_input'; values: {}; data: { locked_minutes?: number } }
 *   }
 * }
 * ```
 *
 * so `StepView` has one member per page, each with its own error codes and data, and whatever shows
 * them (the HTTP layer) must handle every one: a page nobody renders, or a view of a page nobody
 * declared, is a compile error. Declare `values` and `data` as type literals (not interfaces), so
 * they stay assignable to JSON.
 */
export interface StepPages {}

/** What a page declares in `StepPages`. */
export interface StepPageDeclaration {
  error: AuthenticationError
  /** Values put back into the form (never a secret). */
  values: { [field: string]: string | undefined }
  /** Extra template data (e.g. minutes until a lock ends). */
  data: { [key: string]: string | number | boolean | undefined }
}

export type StepPageName = keyof StepPages & string

type Declared<P extends StepPageName> = StepPages[P] extends StepPageDeclaration ? StepPages[P] : never

/** What the page for the current step shows: one member per declared page. */
export type StepView<P extends StepPageName = StepPageName> = P extends StepPageName
  ? {
      page: P
      values?: Declared<P>['values'] | undefined
      error?: Declared<P>['error'] | undefined
      data?: Declared<P>['data'] | undefined
    }
  : never

/**
 * A page's runtime half: the journey keeps the current view in the store between requests and,
 * reading it back, asks the page to check it, so a stored view that is not one of its views is
 * refused rather than shown.
 */
export interface StepPage<P extends StepPageName = StepPageName> {
  readonly name: P
  /** The view, if `stored` (a view the journey kept, as JSON) is one of this page's; else undefined. */
  decode(stored: { [key: string]: Json }): StepView<P> | undefined
}

/**
 * The parts of a stored view every page shares, checked: `values` only strings, `error` one of
 * `errors`, `data` an object. Undefined when any is malformed.
 */
export function storedStepView<E extends AuthenticationError>(stored: { [key: string]: Json }, errors: readonly E[]): StoredStepParts<E> | undefined {
  const { values, error, data } = stored
  const parts: StoredStepParts<E> = { data: {} }
  if (values !== undefined && values !== null) {
    if (!isObject(values)) return undefined
    const strings: { [field: string]: string } = {}
    for (const [field, value] of Object.entries(values)) {
      if (typeof value !== 'string') return undefined
      strings[field] = value
    }
    parts.values = strings
  }
  if (error !== undefined && error !== null) {
    if (!isOneOf(error, errors)) return undefined
    parts.error = error
  }
  if (data !== undefined && data !== null) {
    if (!isObject(data)) return undefined
    parts.data = data
  }
  return parts
}

export interface StoredStepParts<E extends AuthenticationError> {
  values?: { [field: string]: string }
  error?: E
  data: { [key: string]: Json }
}

function isOneOf<E extends string>(value: Json, list: readonly E[]): value is E {
  return list.some((item) => item === value)
}

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export type StepResult =
  | { type: 'continue'; state: Json; view: StepView }
  | { type: 'failure'; state: Json; view: StepView; reason: AuthenticationError }
  | {
      type: 'success'
      uid: string
      /** amr values, e.g. ['TOTP']. */
      amr: string[]
      /**
       * The level this proof reached, when it may be below the method's own (`method.aal`, the most
       * it can reach): a synced passkey proves AAL2 through a method that can reach AAL3. Never above
       * `method.aal`; absent means `method.aal`.
       */
      aal?: Aal | undefined
      /** A binding the session hangs on (e.g. a card session); sessions are listed by it. */
      binding?: string | undefined
      /** When the binding ends (a card session's end): the session may not last longer. */
      binding_ends_at?: number | undefined
      /** A role already chosen during authentication (e.g. at card insertion). */
      selected_roleid?: string | undefined
      /**
       * The proof came from the party this method's `handoff` sends browsers to, through this
       * browser: it reaches that party, so it may be handed off to it next time (the provider
       * remembers this in a cookie, for its `hinted` handoff setting).
       */
      handoff_ready?: boolean | undefined
    }
  /** A handoff's answer: the party had nothing to give (no session there); the journey goes on as if it had not been asked. */
  | { type: 'declined' }

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
 * The store parts the WebAuthn plugin (security keys, Windows Hello, passkeys) may use: its
 * credentials (the record id is the WebAuthn credential id), one-use marks for its challenges, and
 * the audit log for the refusals that point at an attack (a cloned key, another origin, a replay).
 */
export interface WebAuthnContext {
  credentials: CredentialStore
  replay: Pick<ReplayCache, 'markUsed'>
  audit: Pick<AuditLog, 'append'>
}

/**
 * An authenticator drives one way of signing in. `Needs` is what it uses beyond the step context
 * (e.g. `CredentialContext`); the composition root binds those parts to it (`bindAuthenticator`),
 * so the journey only ever hands over the step context and never the store.
 */
export interface Authenticator<Needs = unknown> {
  readonly method: AuthenticationMethod
  /** The pages its steps show (each declared in `StepPages`). */
  readonly pages: readonly StepPage[]
  /** The first step of a new attempt. */
  start(ctx: AuthenticatorContext & Needs): Promise<{ state: Json; view: StepView }>
  /** Takes the form the person submitted for the current step, or a handoff's answer (its query). */
  submit(ctx: AuthenticatorContext & Needs, state: Json, input: Record<string, string>): Promise<StepResult>
  /**
   * Optional: the first step as a redirect rather than a page, for a browser known to reach the
   * party that proves the person (a program on their computer). The browser goes to `location`;
   * that party sends it back by GET to `{issuer}/interaction/{interactionId}/{method id}/return`
   * with its answer in the query, which the journey hands to `submit` as the step's input, once,
   * and only from the browser that started the journey. No anti-forgery token comes back with it,
   * so the answer must be bound to the `state` returned here (a challenge it signs). Nothing is
   * rendered on the way: after a form post, browsers apply that page's CSP form-action to every
   * redirect that follows, so a chain of redirects to a client on another origin must not start
   * from a page's form.
   */
  handoff?(ctx: AuthenticatorContext & Needs, interactionId: string): Promise<{ state: Json; location: string }>
}
