/**
 * The enrolment port: registering, listing and removing a person's credentials of one kind (a
 * password, an authenticator app, a smartcard, and later a WebAuthn key or the mobile app). The
 * Registration Authority's tools, the CLI and self-service enrolment go through it, so each
 * authenticator keeps the knowledge of how its secrets are made and stored.
 */

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
