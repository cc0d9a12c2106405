/**
 * The pages Careid shows people, as view models. The UI package turns a `Page` into HTML
 * (`renderPage`); it never reads data itself. Every page carries `common`.
 */

export interface CommonModel {
  /** Absolute path prefix for assets, e.g. `/assets` (served by the HTTP layer). */
  assets: string
  /** Request's preferred locale tag (from ui_locales), for the html lang attribute. */
  lang: string
  /** The service name shown in the header. */
  service: string
}

export interface FormModel {
  /** Where the form posts to. */
  action: string
  /** Anti-forgery token, posted back as the field `csrf`. */
  csrf: string
}

export interface ChooseAuthenticatorPage {
  page: 'choose_authenticator'
  common: CommonModel
  form: FormModel
  client_name: string
  /** Authenticators that meet the request's acr_values; posted back as the field `method`. */
  options: Array<{ id: string; label: string; description: string }>
  /** Authenticators that exist but do not meet acr_values (shown greyed, with the reason). */
  unavailable: Array<{ id: string; label: string; reason: string }>
  /** The form was posted without a `method`. */
  error?: 'missing_input' | undefined
}

/** Username and password (the password authenticator, and the first TOTP step). */
export interface PasswordPage {
  page: 'password'
  common: CommonModel
  form: FormModel
  client_name: string
  method_label: string
  username?: string | undefined
  error?: 'invalid_credentials' | 'locked' | 'missing_input' | 'not_enrolled' | undefined
  /** For `locked`: minutes until the lock ends. */
  locked_minutes?: number | undefined
  /** Link back to the choice of authenticator, when there was a choice. */
  back?: string | undefined
  /** Link to the choice of sign-in method, "Use another way", when the page began without a choice (the method last used). */
  another_way?: string | undefined
}

/** The 6-digit code from an authenticator app. */
export interface TotpPage {
  page: 'totp'
  common: CommonModel
  form: FormModel
  client_name: string
  error?: 'invalid_code' | 'code_already_used' | 'locked' | 'missing_input' | undefined
  locked_minutes?: number | undefined
  back?: string | undefined
  /** Link to the choice of sign-in method, "Use another way", when the page began without a choice (the method last used). */
  another_way?: string | undefined
}

/**
 * The smartcard step: the page's script (served from 'self') asks the Identity Agent on this
 * computer for a ticket over `challenge` and posts it as `ticket`. Without the agent, a card or
 * JavaScript, the page says so and offers the other ways the application accepts.
 */
export interface SmartcardPage {
  page: 'smartcard'
  common: CommonModel
  form: FormModel
  client_name: string
  /** This sign-in's challenge, for the agent to sign. */
  challenge: string
  /** The Identity Agent's local API origin, e.g. `http://127.0.0.1:4445`. */
  agent_origin: string
  /** Labels of the other sign-in methods the application accepts. */
  alternatives: string[]
  /** Where the page itself is (a fresh try). */
  retry: string
  error?: 'invalid_ticket' | 'challenge_expired' | 'card_not_valid' | 'card_session_ended' | 'method_not_accepted' | 'missing_input' | undefined
  back?: string | undefined
  /** Link to the choice of sign-in method, "Use another way", when the page began without a choice (the method last used). */
  another_way?: string | undefined
}

/** The kinds of WebAuthn credential: a security key, Windows Hello, a passkey. */
export type WebAuthnKind = 'security_key' | 'windows_hello' | 'passkey'

/**
 * Sign in with a security key, Windows Hello or a passkey: the page's script (served from 'self')
 * runs the browser's WebAuthn get with `options` (PublicKeyCredentialRequestOptionsJSON) and posts
 * the answer as `response`.
 */
export interface WebAuthnPage {
  page: 'webauthn'
  common: CommonModel
  form: FormModel
  client_name: string
  kind: WebAuthnKind
  method_label: string
  /** JSON, given to the script in a data- attribute. */
  options: string
  alternatives: string[]
  retry: string
  error?: 'webauthn_cancelled' | 'unknown_credential' | 'counter_regression' | 'wrong_origin' | 'challenge_replayed' | 'user_not_verified' | 'method_not_accepted' | undefined
  back?: string | undefined
  /** Link to the choice of sign-in method, "Use another way", when the page began without a choice (the method last used). */
  another_way?: string | undefined
}

/** Register a security key, Windows Hello or a passkey (the account area): WebAuthn create with `options`. */
export interface WebAuthnRegisterPage {
  page: 'webauthn_register'
  common: CommonModel
  form: FormModel
  client_name: string
  kind: WebAuthnKind
  method_label: string
  /** JSON (PublicKeyCredentialCreationOptionsJSON), given to the script in a data- attribute. */
  options: string
  /** The highest level this registration may give (its grant's). */
  max_aal: number
  retry: string
  error?: 'webauthn_cancelled' | 'unknown_credential' | 'wrong_origin' | 'challenge_replayed' | 'user_not_verified' | 'attestation_not_trusted' | 'method_not_accepted' | undefined
  back?: string | undefined
}

/**
 * The mobile app's first step: the username whose registered tablet or phone is asked to approve
 * (prefilled from login_hint), and why the last request came to nothing, if it did.
 */
export interface MobileUsernamePage {
  page: 'mobile_username'
  common: CommonModel
  form: FormModel
  client_name: string
  method_label: string
  username?: string | undefined
  error?: 'missing_input' | 'request_expired' | 'number_mismatch' | 'request_declined' | 'method_not_accepted' | undefined
  back?: string | undefined
}

/**
 * The number to enter on the device, while the page waits for the device's approval: its script
 * (served from 'self') polls `status_url` for `request` and posts the form once approved; without
 * script, the "Continue" button posts it.
 */
export interface MobileWaitPage {
  page: 'mobile_wait'
  common: CommonModel
  form: FormModel
  client_name: string
  /** The two-digit number to match. */
  number: string
  request: string
  status_url: string
  /** When the request expires (ms since the epoch), and the same as a time of day (UTC, HH:MM). */
  expires_at: number
  expires_time: string
  error?: 'not_approved_yet' | undefined
  back?: string | undefined
}

/**
 * One entry of the role picker: the shape of `@careid/domain`'s `RoleOption`, restated because the
 * ui layer imports no careid package (it renders plain data). The HTTP layer passes the domain's
 * role options to this page as they are, so the compiler holds the two shapes together there.
 */
export interface RoleOption {
  person_roleid: string
  /** e.g. `"Clinical":"Clinical Provision":"Nurse Access Role"` shown as `Nurse Access Role`. */
  role_name: string
  job_role: string
  org_code: string
  org_name: string
}

/** Role choice: a plain list for 2 to 5 roles, list with search for more than 5. */
export interface SelectRolePage {
  page: 'select_role'
  common: CommonModel
  form: FormModel
  client_name: string
  person_name: string
  roles: RoleOption[]
  /** True when there are more than 5 roles: a search box (GET `query`) filters the list. */
  searchable: boolean
  query?: string | undefined
  /** Total before filtering, when a search is applied. */
  total: number
  error?: 'missing_input' | undefined
}

/** An error the person can't fix by going back to the application (no redirect was safe). */
export interface ErrorPage {
  page: 'error'
  common: CommonModel
  status: number
  title: string
  /** Plain-language explanation; never contains a token, secret or personal data. */
  description: string
  /** The OAuth error code, shown small for support staff. */
  error_code?: string | undefined
}

/**
 * Asked at end session when no ID token says which application asks (RP-Initiated Logout 1.0 2:
 * "the OP SHOULD ask the End-User whether to log out"): one button posting back to end session.
 */
export interface ConfirmSignOutPage {
  page: 'confirm_sign_out'
  common: CommonModel
  form: FormModel
  /** The logout request's parameters, carried through the form as hidden fields. */
  fields: Array<{ name: string; value: string }>
  /** The application that asked, when the request named a registered one. */
  client_name?: string | undefined
}

/** Shown after end session when there is no post_logout_redirect_uri to go to. */
export interface SignedOutPage {
  page: 'signed_out'
  common: CommonModel
}

/** The demo relying party's start page: choose what to ask Careid for, then sign in. */
export interface DemoHomePage {
  page: 'demo_home'
  common: CommonModel
  /** GET form to the demo RP's login route; fields `acr_values`, `scope` (multiple), `prompt`. */
  action: string
  acr_options: Array<{ value: string; label: string; selected: boolean }>
  scope_options: Array<{ value: string; label: string; checked: boolean }>
  /** Where Careid's discovery document is, and the demo client id, to show a developer. */
  issuer: string
  client_id: string
  /** What happened last: a problem (e.g. the error Careid returned) or a notice (signed out). */
  message?: { kind: 'problem' | 'notice'; text: string } | undefined
}

/** The demo relying party after sign-in: what the ID token and userinfo said. */
export interface DemoSignedInPage {
  page: 'demo_signed_in'
  common: CommonModel
  person_name: string
  /** Decoded ID token claims and userinfo, pretty-printed JSON. */
  id_token_claims: string
  userinfo: string
  /** Summary rows: acr, amr, selected role, assurance levels. */
  summary: Array<{ key: string; value: string }>
  /** Links: sign out (RP-initiated logout), sign in again with prompt=login, change role. */
  sign_out: string
  sign_in_again: string
  change_role: string
}

/**
 * "Your sign-in methods": the worker's credentials of every kind, each with a Remove button (its
 * own form), the methods they can add now, and those that need a stronger sign-in first.
 */
export interface AccountPage {
  page: 'account'
  common: CommonModel
  person_name: string
  username: string
  /** The session's authenticator assurance level. */
  aal: number
  /** Posted with `kind` and `id` to remove one credential. */
  remove: FormModel
  /** Posted with `method` to start adding one. */
  add: FormModel
  credentials: Array<{ kind: string; id: string; label: string; added: string; details: string; removable: boolean }>
  methods: Array<{ method: string; label: string; description: string }>
  /** Above the session's level: a link that signs in again more strongly. */
  stronger: Array<{ method: string; label: string; description: string; sign_in: string; level: number }>
  /** What the last change was, e.g. "Authenticator app added". */
  notice?: string | undefined
  /** Ends the session (end session, which asks first). */
  sign_out: string
  error?: 'last_method' | 'not_removed' | 'missing_input' | 'stronger_sign_in_needed' | undefined
}

/** The Registration Authority's enrolment code, with the worker's username. */
export interface EnrolmentCodePage {
  page: 'enrolment_code'
  common: CommonModel
  form: FormModel
  username?: string | undefined
  error?: 'invalid_code' | 'missing_input' | undefined
}

/** A method registered with an enrolment code: how to sign in with it. */
export interface EnrolmentDonePage {
  page: 'enrolment_done'
  common: CommonModel
  method: string
  label: string
  username: string
}

/** Adding an authenticator app: its secret as a QR code and as text, and a code to confirm. */
export interface TotpEnrolPage {
  page: 'totp_enrol'
  common: CommonModel
  form: FormModel
  /** The base32 secret, for typing in by hand, in groups of four. */
  secret: string
  otpauth_url: string
  /** The QR code of `otpauth_url`, as a data: URI image. */
  qr: string
  error?: 'invalid_code' | 'missing_input' | 'method_not_accepted' | undefined
  back?: string | undefined
}

export type Page =
  | AccountPage
  | EnrolmentCodePage
  | EnrolmentDonePage
  | TotpEnrolPage
  | DemoHomePage
  | DemoSignedInPage
  | ChooseAuthenticatorPage
  | PasswordPage
  | TotpPage
  | SmartcardPage
  | MobileUsernamePage
  | MobileWaitPage
  | WebAuthnPage
  | WebAuthnRegisterPage
  | SelectRolePage
  | ErrorPage
  | ConfirmSignOutPage
  | SignedOutPage
