/**
 * The enrolment port: registering, listing and removing a person's credentials of one kind (a
 * password, an authenticator app, a smartcard, and later a WebAuthn key or the mobile app). The
 * Registration Authority's tools, the CLI and self-service enrolment go through it, so each
 * authenticator keeps the knowledge of how its secrets are made and stored.
 */
import type { Aal, AuthenticationError, StepPage, StepView } from './authenticator.ts'
import type { Json } from './store.ts'

/** A credential as listed: never its secret material. */
export interface EnrolledCredential {
  /** The credential's id (a smartcard: its certificate serial). */
  id: string
  /** The authenticator's credential kind: `password`, `totp`, `smartcard`, ... */
  kind: string
  created_at: number
  /** Kind-specific facts safe to show (a card's status), never a secret. */
  detail?: { [key: string]: string | number | boolean } | undefined
}

export interface Enrolment<Input, Registered> {
  readonly kind: string
  /** Registers a credential for the person, replacing a previous one where a person holds one of this kind. */
  register(uid: string, input: Input, now: number): Promise<Registered>
  /** The person's credentials of this kind. */
  list(uid: string): Promise<EnrolledCredential[]>
  /** Removes one of the person's credentials; false when the person has none with this id. */
  remove(uid: string, id: string): Promise<boolean>
}

/**
 * Who may register a credential now, and up to which level (cis2.md 4: "non-smartcard
 * authenticators can be self-registered once the user holds at least one authenticator; otherwise
 * are issued by an RA"). The account area makes it: from the worker's live session (`session`: a
 * credential of at most the session's level, "the same or a lower level"), or from a Registration
 * Authority's one-time enrolment code (`code`: one method, any level it reaches).
 */
export interface EnrolmentGrant {
  uid: string
  /** The highest level the new credential may have; a ceremony that would prove more is refused. */
  maxAal: Aal
  via: 'session' | 'code'
  /** With `code`: the one method (an enroller's `method`) the code was issued for. */
  method?: string | undefined
}

/** What every enrolment step gets: the time, the grant, and who the person is (for the authenticator's display). */
export interface EnrolmentContext {
  now: number
  grant: EnrolmentGrant
  /** Shown by authenticators (a passkey's account name): the username and display name, never secret. */
  username: string
  display_name: string
  /** The client's address. */
  source?: string | undefined
}

export type EnrolmentResult =
  | { type: 'continue'; state: Json; view: StepView }
  | { type: 'failure'; state: Json; view: StepView; reason: AuthenticationError }
  /** Registered: the new credential as listed, and the level it reached (within the grant). */
  | { type: 'registered'; credential: EnrolledCredential; aal: Aal }

/**
 * A ceremony that registers a credential of one kind for the person a grant names (adding a
 * security key, an authenticator app): a small state machine driven by the account area exactly as
 * the sign-in journey drives an `Authenticator`, its pages being `StepPages` too, posted with the
 * account area's anti-forgery token. `Needs` is bound by the composition root (`bindEnroller`).
 */
export interface Enroller<Needs = unknown> {
  /** The authenticator method id it registers credentials for (`security_key`, `totp`, ...). */
  readonly method: string
  /** Shown on the "Your sign-in methods" page's add buttons. */
  readonly label: string
  readonly description: string
  /** The most a credential it registers can reach: offered from a session only at that level or above, or with a code for it. */
  readonly maxAal: Aal
  readonly pages: readonly StepPage[]
  start(ctx: EnrolmentContext & Needs): Promise<{ state: Json; view: StepView }>
  submit(ctx: EnrolmentContext & Needs, state: Json, input: Record<string, string>): Promise<EnrolmentResult>
}

/**
 * A kind of credential a person can see and remove on their own "Your sign-in methods" page: the
 * list and remove halves of `Enrolment`, with a label.
 */
export interface CredentialKind {
  readonly kind: string
  readonly label: string
  list(uid: string): Promise<EnrolledCredential[]>
  remove(uid: string, id: string): Promise<boolean>
}
