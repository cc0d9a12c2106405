/**
 * The storage contract: every adapter (embedded SQLite now, PostgreSQL and Redis when scaled out)
 * implements exactly these interfaces and passes the one conformance suite, `@careid/store/conformance`.
 *
 * Rules every adapter keeps:
 * - Keys derived from bearer secrets (codes, refresh tokens, session cookies) are hashes
 *   (`sha256` base64url, computed by the caller); the secret itself is never stored.
 * - Single use is atomic: of any number of concurrent `redeem`/`rotate`/`markUsed` calls on the same
 *   key, exactly one wins.
 * - Times are milliseconds since the epoch, passed in by the caller (the store never reads a clock
 *   for decisions, so tests control time).
 * - Records are returned as fresh objects; mutating them changes nothing stored. An optional field
 *   that is not set is absent from a returned record (never `null`, never a key holding `undefined`).
 * - A failed call changes nothing (each call is one transaction); `transaction` joins several calls
 *   into one.
 */

/** JSON values the store keeps opaque. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

// ---------------------------------------------------------------------------------------------
// Durable data
// ---------------------------------------------------------------------------------------------

export type TokenEndpointAuthMethod =
  | 'client_secret_post'
  | 'client_secret_basic'
  | 'private_key_jwt'
  | 'none'

export type ClientAssertionAlg = 'RS256' | 'RS512' | 'PS256' | 'ES256'

/** A registered relying party. Field names follow OpenID Connect Dynamic Client Registration. */
export interface ClientRecord {
  client_id: string
  client_name: string
  redirect_uris: string[]
  post_logout_redirect_uris: string[]
  backchannel_logout_uri?: string | undefined
  token_endpoint_auth_method: TokenEndpointAuthMethod
  /** sha256 (base64url) of the client secret, for the client_secret_* methods. */
  client_secret_hash?: string | undefined
  /** For private_key_jwt: where the client's public keys are, or the keys themselves. */
  jwks_uri?: string | undefined
  jwks?: { keys: Json[] } | undefined
  /** The algorithm the client signs its assertions with (CIS2's `jwks_uri_signing_algorithm`). */
  token_endpoint_auth_signing_alg?: ClientAssertionAlg | undefined
  /** Whether the authorization_code grant also issues a rotating refresh token. */
  refresh_tokens: boolean
  /**
   * The browser origins (scheme://host:port) whose pages may call the token, userinfo and
   * revocation endpoints (CORS). Absent: the origins of the redirect URIs.
   */
  web_origins?: string[] | undefined
  created_at: number
}

export interface ClientStore {
  get(clientId: string): Promise<ClientRecord | undefined>
  list(): Promise<ClientRecord[]>
  /** Inserts or replaces by client_id. */
  put(client: ClientRecord): Promise<void>
  /** True when a client was removed. */
  remove(clientId: string): Promise<boolean>
}

/**
 * An application registered with the API Platform's OAuth 2.0 service, as in the NHS developer
 * portal: its API key is its `client_id` there, it holds a secret (for the combined pattern and
 * refreshes), its callback URLs, its public keys for signed JWT client assertions (the separate
 * pattern and application-restricted access), and the product scopes it subscribes to.
 */
export interface ApplicationRecord {
  /** The API key (the application's client_id at the platform). */
  api_key: string
  name: string
  /** sha256 (base64url) of the secret; the secret itself is shown once and never stored. */
  secret_hash: string
  /** Where the platform may send the browser back (`redirect_uri` must equal one of them). */
  callback_urls: string[]
  /** Where the application publishes its public keys (the portal's JWKS resource URL), or the keys themselves. */
  jwks_uri?: string | undefined
  jwks?: { keys: Json[] } | undefined
  /** The products it subscribes to, each with the scopes of it the application uses. */
  subscriptions: ProductSubscription[]
  created_at: number
}

export interface ProductSubscription {
  /** The product's id, e.g. `personal-demographics-service`. */
  product: string
  /** e.g. `urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service`. */
  scopes: string[]
}

export interface ApplicationStore {
  get(apiKey: string): Promise<ApplicationRecord | undefined>
  /** Ordered by api_key. */
  list(): Promise<ApplicationRecord[]>
  /** Inserts or replaces by api_key. */
  put(application: ApplicationRecord): Promise<void>
  /** True when an application was removed. */
  remove(apiKey: string): Promise<boolean>
}

/**
 * A signing key. `state` moves only forward: next (published, not signing) -> active (signing)
 * -> retired (published, no longer signing) -> removed (deleted). There is at most one active key.
 */
export interface SigningKeyRecord {
  kid: string
  alg: 'RS256' | 'PS256' | 'ES256'
  /** Public JWK including kid, alg and use. */
  public_jwk: { [key: string]: Json }
  /** The private JWK, encrypted (AES-256-GCM envelope produced by the key service). */
  private_jwk_encrypted: string
  state: 'next' | 'active' | 'retired'
  created_at: number
  /** When a `next` key starts signing. */
  activate_at: number
  /** When a `retired` key stops being published (everything it signed has expired by then). */
  remove_at?: number | undefined
}

export interface KeyStore {
  list(): Promise<SigningKeyRecord[]>
  /** Inserts or replaces by kid; rejects a second active key. */
  put(key: SigningKeyRecord): Promise<void>
  /**
   * Atomically makes `kid` the only active key: the previous active key becomes retired with
   * `remove_at = retireRemoveAt`. Returns false (and changes nothing) if `kid` is not `next`.
   */
  activate(kid: string, retireRemoveAt: number): Promise<boolean>
  /** Deletes retired keys whose remove_at <= now; returns their kids. */
  removeExpired(now: number): Promise<string[]>
}

/** A person, their organisations and national RBAC positions, as the domain package shapes them. */
export interface PersonStore {
  get(uid: string): Promise<Json | undefined>
  getByUsername(username: string): Promise<Json | undefined>
  list(): Promise<Json[]>
  /** Inserts or replaces by uid; `username` must be unique across people. */
  put(uid: string, username: string, person: Json): Promise<void>
}

/**
 * One credential of one person for one authenticator kind (a password hash, a TOTP secret, later a
 * card certificate or WebAuthn credential). `state` carries the authenticator's own counters
 * (failures, lock, last used time step) and is updated with compare-and-set on `version`.
 */
export interface CredentialRecord {
  id: string
  uid: string
  kind: string
  /** Kind-specific secret material: a password hash, an encrypted TOTP secret, a public key. */
  secret: string
  state: { [key: string]: Json }
  version: number
  created_at: number
}

export interface CredentialStore {
  listByPerson(uid: string): Promise<CredentialRecord[]>
  get(id: string): Promise<CredentialRecord | undefined>
  put(credential: CredentialRecord): Promise<void>
  /**
   * Replaces `state` only if the stored version still equals `expectedVersion`, bumping it by one.
   * Returns false when another writer got there first (the caller re-reads and retries).
   */
  updateState(id: string, expectedVersion: number, state: { [key: string]: Json }): Promise<boolean>
  remove(id: string): Promise<boolean>
}

/**
 * What the sign-in behind a grant established, as its ID token stated it. Every token issued from
 * the grant later (a refresh) states the same: a refresh re-issues, it does not re-authenticate.
 */
export interface SignInFacts {
  /** The authentication context class the sign-in met for the authorization request. */
  acr: string
  amr: string[]
  aal: 1 | 2 | 3
  auth_time: number
  id_assurance_level: string
  /** The role the tokens were issued for, if any. */
  selected_roleid?: string | undefined
}

/** What one authorization (one code redemption) granted; tokens issued from it refer to it. */
export interface GrantRecord {
  grant_id: string
  client_id: string
  sub: string
  /** The SSO session (its public `sid`) the grant was made in. */
  sid: string
  scope: string
  /** Absent only on a grant stored before Careid recorded them (schema version 4). */
  sign_in?: SignInFacts | undefined
  created_at: number
  expires_at: number
  revoked_at?: number | undefined
}

export interface GrantStore {
  /** Inserts or replaces by grant_id; a revoked grant stays revoked (with its first revoked_at). */
  put(grant: GrantRecord): Promise<void>
  get(grantId: string): Promise<GrantRecord | undefined>
  /**
   * Marks the grant revoked (idempotent: the first revocation time stays) and deletes its refresh
   * tokens, so `refreshTokens.get` finds none and `rotate` on any of them is `absent`.
   */
  revoke(grantId: string, now: number): Promise<void>
  /**
   * Revokes, as `revoke` does, every grant made in the SSO session `sid` (its session ended), in one
   * transaction; returns how many were not revoked before. Idempotent: earlier revocation times stay.
   */
  revokeBySid(sid: string, now: number): Promise<number>
  /** Deletes grants with expires_at <= now, and their refresh tokens; returns how many grants. */
  removeExpired(now: number): Promise<number>
}

export interface RefreshTokenRecord {
  /** sha256 of the token. */
  token_hash: string
  grant_id: string
  client_id: string
  created_at: number
  expires_at: number
  /** Set when the token was exchanged for a new one (rotation). */
  rotated_at?: number | undefined
}

export type RefreshOutcome =
  | { kind: 'rotated'; token: RefreshTokenRecord }
  /** The token was already rotated: a replay. The caller revokes the whole family (grant). */
  | { kind: 'reused'; token: RefreshTokenRecord }
  | { kind: 'absent' }

export interface RefreshTokenStore {
  /**
   * Stores a new token of a stored grant. Rejects a token_hash already stored, so a rotated token can
   * never be reset to usable.
   */
  put(token: RefreshTokenRecord): Promise<void>
  get(tokenHash: string): Promise<RefreshTokenRecord | undefined>
  /**
   * Atomically marks an unexpired token rotated and stores its successor. Exactly one of any
   * concurrent callers gets `rotated`; the others get `reused` (and their successors are not stored).
   * Both return the presented token as stored, with its `rotated_at`. A token is `absent` when
   * unknown, expired (expires_at <= now), or when its grant is revoked or expired; if the successor
   * cannot be stored the call fails and the token stays unrotated.
   */
  rotate(tokenHash: string, successor: RefreshTokenRecord, now: number): Promise<RefreshOutcome>
}

/** A back-channel logout notification owed to one relying party for one ended session. */
export interface LogoutNotification {
  id: string
  client_id: string
  backchannel_logout_uri: string
  sub: string
  sid: string
  created_at: number
  attempts: number
  next_attempt_at: number
  /** Which node holds the claim, until when. */
  claimed_by?: string | undefined
  claim_expires_at?: number | undefined
  delivered_at?: number | undefined
  gave_up_at?: number | undefined
  /** The HTTP status or network error class of the last failed attempt (never a body). */
  last_error?: string | undefined
}

export interface LogoutOutbox {
  /**
   * Adds notifications; one per (client_id, sid): a second enqueue for the same pair is ignored,
   * so a relying party hears of a session's end once.
   */
  enqueue(notifications: LogoutNotification[]): Promise<void>
  /**
   * Claims up to `limit` due notifications (not delivered, not given up, next_attempt_at <= now,
   * unclaimed or claim_expires_at <= now), earliest next_attempt_at first, for `node` until
   * now + leaseMs. Concurrent claimers never get the same notification.
   *
   * Each `mark*` below counts one attempt (attempts + 1) and releases the claim, and does nothing
   * unless `node` holds the claim (a node whose lease was taken over cannot overwrite the new holder).
   */
  claimDue(node: string, now: number, leaseMs: number, limit: number): Promise<LogoutNotification[]>
  markDelivered(id: string, node: string, now: number): Promise<void>
  /** Records a failed attempt and releases the claim; the notification is due again at nextAttemptAt. */
  markFailed(id: string, node: string, error: string, nextAttemptAt: number): Promise<void>
  markGaveUp(id: string, node: string, error: string, now: number): Promise<void>
  /** Releases every claim `node` holds (graceful shutdown). */
  releaseClaims(node: string): Promise<void>
  get(id: string): Promise<LogoutNotification | undefined>
  /** Counts by status, for metrics. */
  counts(): Promise<{ pending: number; delivered: number; gave_up: number }>
}

/**
 * A smartcard the card authority issued: its certificate and its passcode counter. The counter of
 * record lives here, not on the card, so it survives restarts and cannot be reset by copying or
 * editing a card file. A virtual card's passcode is checked here too (a PKCS#11 token checks its
 * own PIN), against the secrets in `unlock_secrets_sealed`.
 */
export interface CardRecord {
  /** The certificate serial, lowercase hex. */
  serial: string
  /** The holder's 12-digit UID. */
  uid: string
  kind: 'virtual' | 'pkcs11'
  /** The card certificate, PEM. */
  certificate: string
  not_before: number
  not_after: number
  created_at: number
  status: 'active' | 'revoked'
  revoked_at?: number | undefined
  /** Passcode attempts begun and not (yet) proven right; 3 = locked. */
  failed_attempts: number
  locked_at?: number | undefined
  /**
   * A virtual card's unlock secrets (what proves the card file, what proves the passcode, and the
   * provider's share of the key that seals the card's private key), sealed under the key-encryption
   * key. Absent for PKCS#11 cards.
   */
  unlock_secrets_sealed?: string | undefined
  /**
   * A PKCS#11 card's authentication key (SPKI, base64url): a second key on the token that signs
   * without the PIN (as a PIV card's card authentication key does), so the card can prove it is at
   * hand when its PIN is locked. Absent for virtual cards and for tokens issued without one.
   */
  authentication_key?: string | undefined
}

/** Passcode attempts begun without proof after which a card is locked. */
export const CARD_PASSCODE_ATTEMPTS = 3

export type PasscodeAttempt =
  /** Counted; `attemptsLeft` more may begin after this one before the card locks (0: this was the last). */
  | { outcome: 'begun'; attemptsLeft: number; card: CardRecord }
  | { outcome: 'locked' }
  | { outcome: 'revoked' }
  | { outcome: 'unknown' }

export interface CardStore {
  /** Inserts or replaces by serial. */
  put(card: CardRecord): Promise<void>
  get(serial: string): Promise<CardRecord | undefined>
  /** Oldest first. */
  listByPerson(uid: string): Promise<CardRecord[]>
  /** Oldest first. */
  list(): Promise<CardRecord[]>
  /**
   * Atomically: an active, unlocked card with fewer than CARD_PASSCODE_ATTEMPTS unproven attempts
   * gets failed_attempts + 1 and `begun` with the new record (the last of them may still be proven
   * right). An attempt after CARD_PASSCODE_ATTEMPTS unproven ones sets locked_at = now (once) and is
   * `locked`. Concurrent callers never push the counter past CARD_PASSCODE_ATTEMPTS. A revoked card
   * is `revoked` (even if locked).
   */
  beginPasscodeAttempt(serial: string, now: number): Promise<PasscodeAttempt>
  /**
   * A begun attempt proved wrong: when it was the last one (CARD_PASSCODE_ATTEMPTS unproven), the
   * card locks now (locked_at = now; the first time stays). True if the card is locked after this.
   * A right passcode proven meanwhile (the count back below the limit) keeps it unlocked.
   */
  passcodeWrong(serial: string, now: number): Promise<boolean>
  /** The passcode was proven right: failed_attempts = 0, only if the card is active and not locked. True if reset. */
  passcodeProven(serial: string): Promise<boolean>
  /**
   * The card's own PIN counter locked it (a PKCS#11 token answered CKR_PIN_LOCKED): an active card
   * is recorded locked (failed_attempts = CARD_PASSCODE_ATTEMPTS, locked_at = now; the first time
   * stays). False if unknown or revoked.
   */
  lock(serial: string, now: number): Promise<boolean>
  /** The Registration Authority's unlock: failed_attempts = 0, locked_at cleared. False if unknown or revoked. */
  unlock(serial: string, now: number): Promise<boolean>
  /** Marks the card revoked (idempotent: the first revoked_at stays). False if unknown. */
  revoke(serial: string, now: number): Promise<boolean>
  /** The card authority, once made. */
  getAuthority(): Promise<CardAuthorityRecord | undefined>
  /**
   * Stores `authority` unless one is stored already, and returns the one stored: two processes
   * making the first card at once end up with the same authority.
   */
  initAuthority(authority: CardAuthorityRecord): Promise<CardAuthorityRecord>
}

/** The certificate authority that issues card certificates; there is one per deployment. */
export interface CardAuthorityRecord {
  /** Its self-signed certificate, PEM. */
  certificate: string
  /** Its private key (PKCS#8), sealed under the key-encryption key. */
  private_key_sealed: string
  created_at: number
}

/**
 * One entry of the audit log: who did what to which record, and when.
 *
 * A change made by an administrator carries digests of the record before and after it, not the
 * record itself: the log must prove what changed (anyone holding a copy of the record can recompute
 * the digest and match it) without becoming a second copy of secrets and personal data (secret
 * hashes, sealed keys, names, email addresses), which an audit log is kept far longer than, and
 * read far more widely than, the records it describes.
 */
export interface AuditEvent {
  at: number
  /** The action: e.g. `session.started`, `token.issued`, `code.reused`, `client.added`. */
  type: string
  /**
   * Who made the change: an administrator through a tool (`cli:<os user>`). Absent when Careid
   * itself recorded the event (the system: sign-ins, tokens, codes, sessions ending on their own).
   */
  actor?: string | undefined
  /** Who or what the event is about: a uid, a client_id; never a token or secret. */
  subject?: string | undefined
  client_id?: string | undefined
  /** sha256 (base64url) of the canonical JSON of the record before the change; absent when there was none. */
  before_digest?: string | undefined
  /** sha256 (base64url) of the canonical JSON of the record after the change; absent when there is none. */
  after_digest?: string | undefined
  detail?: { [key: string]: Json } | undefined
}

export interface AuditLog {
  append(event: AuditEvent): Promise<void>
  /** Newest first. */
  recent(limit: number): Promise<AuditEvent[]>
}

/**
 * Which of the API Platform's patterns made a grant: the combined pattern (cis2.md 6.2), the
 * separate pattern's token exchange (6.3), or application-restricted signed JWT access (6.5).
 */
export type ApiGrantPattern = 'combined' | 'token_exchange' | 'client_credentials'

/**
 * The worker a user-restricted platform grant acts for, as the gateway needs them on every call:
 * read from the CIS2 ID token (and, in the combined pattern, CIS2's userinfo) when the grant was
 * made, so a call to an API never waits on CIS2.
 */
export interface ApiGrantUser {
  sub: string
  /** The CIS2 session the sign-in belongs to: its back-channel logout revokes the grant. */
  sid: string
  /** The ID token's `authentication_assurance_level`, as a number (1 to 3). */
  aal: number
  acr: string
  /** The ID token's `selected_roleid`, when the worker chose a role at sign-in. */
  selected_roleid?: string | undefined
  /**
   * Every `person_roleid` of the worker's `nhsid_nrbac_roles`, when the platform read them from
   * userinfo (the combined pattern); absent when it holds no CIS2 access token (the separate one).
   */
  role_ids?: string[] | undefined
}

/**
 * A grant of the API Platform's OAuth service: what an application may call, for whom, until when.
 * Its tokens are opaque and stored only as hashes (`ApiTokenRecord`).
 */
export interface ApiGrantRecord {
  grant_id: string
  /** The application's API key (its client_id at the platform). */
  api_key: string
  pattern: ApiGrantPattern
  /** The product scopes granted, space-separated. */
  scope: string
  /** Absent for application-restricted access (no user). */
  user?: ApiGrantUser | undefined
  /**
   * The CIS2 access token, sealed by the secret box (combined pattern: `/userinfo` is proxied to
   * CIS2 with it). Never stored in the clear.
   */
  cis2_access_token_sealed?: string | undefined
  /** When the worker signed in at CIS2 (or the application authenticated): refreshes count from it. */
  authenticated_at: number
  /** No refresh after this (12 hours after authentication for CIS2, less if a test asked for less). */
  refresh_until: number
  created_at: number
  /** When the grant and its tokens may be deleted: at or after its last token's expiry. */
  expires_at: number
  revoked_at?: number | undefined
}

/** One opaque token of a platform grant, by the SHA-256 of the token. */
export interface ApiTokenRecord {
  token_hash: string
  grant_id: string
  kind: 'access' | 'refresh'
  /** The refreshes that led to it: 0 for the grant's first tokens (the response's `refresh_count`). */
  refresh_count: number
  created_at: number
  expires_at: number
  /** Set once a refresh token was exchanged: refresh tokens are single use. */
  used_at?: number | undefined
}

/** A live token with its grant. */
export interface ApiTokenGrant {
  token: ApiTokenRecord
  grant: ApiGrantRecord
}

/**
 * The API Platform's grants and tokens. Durable, in the SQL store (every node sees a revocation at
 * once); not part of a unit of work: each call is one transaction of its own.
 */
export interface ApiGrantStore {
  /**
   * Stores a new grant with its first tokens, all or nothing. Rejects a grant_id or token_hash
   * already stored, storing nothing.
   */
  issue(grant: ApiGrantRecord, tokens: ApiTokenRecord[]): Promise<void>
  /**
   * The access token of this hash with its grant, if the token is unexpired (expires_at > now) and
   * its grant not revoked; else undefined. One read: the gateway asks on every API call.
   */
  findAccess(tokenHash: string, now: number): Promise<ApiTokenGrant | undefined>
  /** As `findAccess`, for a refresh token that is also unused. */
  findRefresh(tokenHash: string, now: number): Promise<ApiTokenGrant | undefined>
  /**
   * Atomically marks the refresh token used and stores its successors (tokens of the same grant),
   * raising the grant's expires_at to cover them. True for exactly one of any concurrent callers;
   * false, storing nothing, when the token is unknown, used, expired, or its grant revoked.
   * Rejects successors of another grant.
   */
  rotate(tokenHash: string, successors: ApiTokenRecord[], now: number): Promise<boolean>
  /**
   * Revokes every grant whose user's sid is `sid` (CIS2 ended that session), refreshed tokens
   * included, in one transaction; returns how many were not revoked before. Idempotent.
   */
  revokeBySid(sid: string, now: number): Promise<number>
  /** Deletes grants with expires_at <= now and their tokens, and expired tokens; returns how many grants. */
  removeExpired(now: number): Promise<number>
}

/** Whether a patient record is in use, was merged into another, or was invalidated (PDS's states). */
export type PatientStatus = 'active' | 'merged' | 'invalidated'

/**
 * One patient of the demographics service: the FHIR R4 Patient resource, kept opaque, and the
 * search columns the caller computed from it (`@careid/pds`' `patientRecord`), which the store
 * compares without reading the resource.
 */
export interface PatientRecord {
  /** The NHS number: the resource's id. */
  nhs_number: string
  /** The resource's `meta.versionId`, as a number; PATCH compares it (the ETag). */
  version: number
  resource: { [key: string]: Json }
  /** The usual family name, normalised (upper case A-Z only). */
  family: string
  /** The first given name of the usual name, normalised as `family`. */
  given: string
  /** A phonetic key of the family name (Soundex): the candidates of a fuzzy search. */
  family_phonetic: string
  /** YYYY-MM-DD; compared as text, which orders as dates do. */
  birth_date: string
  gender: string
  /** The home postcode, upper case without spaces. */
  postcode?: string | undefined
  /** `meta.security` marks the patient restricted (the API removes address, telecom, contact, GP). */
  restricted: boolean
  status: PatientStatus
  /** A merged record's surviving NHS number. */
  superseded_by?: string | undefined
}

/**
 * What a patient search matches: every field given must match (names and postcode normalised as
 * stored, birth dates inclusive). Only `active` records are ever found: a merged record is reached
 * through the one it was merged into, an invalidated one not at all.
 */
export interface PatientSearch {
  family?: string | undefined
  /** The family name starts with this (normalised as `family`): a search's trailing wildcard. */
  family_prefix?: string | undefined
  family_phonetic?: string | undefined
  given?: string | undefined
  birth_date_from?: string | undefined
  birth_date_to?: string | undefined
  gender?: string | undefined
  postcode?: string | undefined
  /** At most this many records (a positive whole number). */
  limit: number
}

/**
 * The demographics service's patients. Not part of a unit of work: each call is one transaction of
 * its own, `putMany` included.
 */
export interface PatientStore {
  /** The record of this NHS number, whatever its status. */
  get(nhsNumber: string): Promise<PatientRecord | undefined>
  /** Inserts every record in one transaction; rejects, storing none, if any NHS number is already stored. */
  putMany(records: PatientRecord[]): Promise<void>
  /**
   * Active records matching `criteria`, ordered by family, given, birth_date, then nhs_number, at
   * most `criteria.limit` of them.
   */
  search(criteria: PatientSearch): Promise<PatientRecord[]>
  /**
   * Replaces the record only if its stored version still equals `expectedVersion`; false when it
   * does not (another writer got there first) or the patient is unknown. Rejects, changing nothing,
   * a record of another NHS number or whose version is not `expectedVersion + 1`.
   */
  update(nhsNumber: string, expectedVersion: number, record: PatientRecord): Promise<boolean>
  /** How many records are stored, of every status. */
  count(): Promise<number>
}

/**
 * The durable parts of the store, as one unit of work sees them (`Store.transaction`): everything
 * written through them commits together, or nothing does. Each call keeps its own contract; a call
 * that fails inside the unit changes nothing by itself, and the unit goes on only if the work
 * catches that failure.
 */
export interface UnitOfWork {
  readonly clients: ClientStore
  readonly keys: KeyStore
  readonly people: PersonStore
  readonly credentials: CredentialStore
  readonly cards: CardStore
  readonly grants: GrantStore
  readonly refreshTokens: RefreshTokenStore
  readonly outbox: LogoutOutbox
  readonly audit: AuditLog
  readonly apps: ApplicationStore
}

// ---------------------------------------------------------------------------------------------
// Short-lived data (the same SQL store by default; Redis when configured)
// ---------------------------------------------------------------------------------------------

/** An issued authorization code, keyed by the code's hash. */
export interface AuthorizationCodeRecord {
  code_hash: string
  client_id: string
  redirect_uri: string
  /** The grant this code creates when redeemed; tokens issued from it are revoked if it is reused. */
  grant_id: string
  expires_at: number
  /** Everything else the token endpoint needs (claims, PKCE challenge, nonce, session...). */
  payload: { [key: string]: Json }
}

export type CodeRedemption =
  | { kind: 'first'; code: AuthorizationCodeRecord }
  /** Already redeemed once: the caller revokes `code.grant_id`. */
  | { kind: 'reused'; code: AuthorizationCodeRecord }
  | { kind: 'absent' }

export interface CodeStore {
  /** Rejects a code_hash already stored, so a redeemed code can never be reset. */
  save(code: AuthorizationCodeRecord): Promise<void>
  /**
   * Atomically marks the code redeemed. The first caller for an unexpired code gets `first`; every
   * later caller gets `reused` for as long as the store keeps the record (at least `retainMs` past
   * expiry, so reuse is detected and the grant revoked); an expired or unknown code is `absent`.
   */
  redeem(codeHash: string, now: number): Promise<CodeRedemption>
  /** Deletes codes past expires_at + retainMs. */
  removeExpired(now: number, retainMs: number): Promise<number>
}

/** An SSO session, keyed by the hash of the cookie secret; `sid` is its public id. */
export interface SessionRecord {
  session_hash: string
  sid: string
  sub: string
  /** Methods used, e.g. ["TOTP"]; and the assurance level they reached. */
  amr: string[]
  aal: 1 | 2 | 3
  auth_time: number
  created_at: number
  last_seen_at: number
  /** Ends here whatever the activity (absolute limit). */
  expires_at: number
  /** Ends here unless touched again (idle limit). */
  idle_expires_at: number
  /** The role chosen in this session, if any. */
  selected_roleid?: string | undefined
  /** Relying parties that received tokens in this session. */
  clients: string[]
  /** Authenticator-specific binding, e.g. the card session a smartcard sign-in hangs on. */
  binding?: string | undefined
}

export interface SessionStore {
  create(session: SessionRecord): Promise<void>
  get(sessionHash: string): Promise<SessionRecord | undefined>
  getBySid(sid: string): Promise<SessionRecord | undefined>
  /** Moves last_seen_at and idle_expires_at forward (never back); false if the session is gone. */
  touch(sessionHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean>
  /** Appends a client to `clients` unless already there; false if the session is gone. */
  addClient(sessionHash: string, clientId: string): Promise<boolean>
  setSelectedRole(sessionHash: string, roleId: string): Promise<boolean>
  /**
   * A fresh sign-in by the same person in the same session (prompt=login, max_age, step-up):
   * replaces the authentication facts and limits (an absent `binding` clears it), keeping sid,
   * clients and selected_roleid, and moves the session to `changes.session_hash` (the hash of its
   * new cookie secret; the same hash keeps it in place), so the old hash finds nothing afterwards.
   * Atomic: of concurrent calls for one session, one gets true and the rest false, as when it is
   * gone. Rejects, changing nothing, a new hash that another session holds.
   */
  reauthenticate(
    sessionHash: string,
    changes: Pick<SessionRecord, 'session_hash' | 'amr' | 'aal' | 'auth_time' | 'last_seen_at' | 'expires_at' | 'idle_expires_at' | 'binding'>,
  ): Promise<boolean>
  /** Deletes and returns the session (atomically: only one caller gets it back). */
  remove(sessionHash: string): Promise<SessionRecord | undefined>
  /** Sessions bound to an authenticator binding (e.g. every session of one card session). */
  listByBinding(binding: string): Promise<SessionRecord[]>
  /** Every session of one person, oldest first (by created_at, then sid), as listByBinding orders. */
  listBySub(sub: string): Promise<SessionRecord[]>
  /**
   * Sessions whose expires_at or idle_expires_at <= now, soonest-ended first, at most `limit`.
   * Deletes nothing: the caller ends each one, so its relying parties' logout notifications are
   * queued before the session is gone and a crash in between loses nothing.
   */
  listExpired(now: number, limit: number): Promise<SessionRecord[]>
}

/** A sign-in journey between /authorize and the redirect back (the "interaction"). */
export interface InteractionRecord {
  id: string
  expires_at: number
  payload: { [key: string]: Json }
}

export interface InteractionStore {
  put(interaction: InteractionRecord): Promise<void>
  get(id: string, now: number): Promise<InteractionRecord | undefined>
  remove(id: string): Promise<boolean>
  removeExpired(now: number): Promise<number>
}

/** Single-use markers: client assertion `jti`s, revoked access token `jti`s, TOTP steps. */
export interface ReplayCache {
  /** Records `key` until expiresAt; true the first time, false if it is already recorded. */
  markUsed(key: string, expiresAt: number, now: number): Promise<boolean>
  has(key: string, now: number): Promise<boolean>
  removeExpired(now: number): Promise<number>
}

/**
 * Fixed-window counters for rate limits. A window of `windowMs` starts at every multiple of
 * `windowMs` since the epoch (`rateWindowEnd` says where it ends), so every node agrees on it. Keys
 * are hashes chosen by the caller (of a username and client IP, of a client id and client IP),
 * never the raw values.
 */
export interface RateCounter {
  /**
   * Counts one hit on `key` in the window of `windowMs` (a positive whole number) that holds `now`,
   * and returns the hits counted in that window so far, this one included. Atomic: of N concurrent
   * hits on one key in one window, each gets a different count from 1 to N. Each window counts
   * apart: the first hit in a new window returns 1. A counter is named by its key and the end of its
   * window, not the window's length: windows of different lengths often end together (the last
   * five minutes of an hour), so a caller counting one thing in several window lengths gives each
   * length a key of its own.
   */
  hit(key: string, windowMs: number, now: number): Promise<number>
  /**
   * The hits counted so far on `key` in the window of `windowMs` that holds `now` (0 when none),
   * without counting one: for a limit on failures, checked before the outcome is known.
   */
  peek(key: string, windowMs: number, now: number): Promise<number>
  /**
   * Deletes the counters of windows that ended at or before `now`, and returns how many it deleted
   * (none where the backend expires them by itself).
   */
  removeExpired(now: number): Promise<number>
}

/** Everything Careid stores. */
export interface Store {
  readonly clients: ClientStore
  readonly keys: KeyStore
  readonly people: PersonStore
  readonly credentials: CredentialStore
  readonly cards: CardStore
  readonly grants: GrantStore
  readonly refreshTokens: RefreshTokenStore
  readonly outbox: LogoutOutbox
  readonly audit: AuditLog
  readonly apps: ApplicationStore
  readonly codes: CodeStore
  readonly sessions: SessionStore
  readonly interactions: InteractionStore
  readonly replay: ReplayCache
  readonly rates: RateCounter
  /** The demographics service's patients: durable, in the SQL store, outside units of work. */
  readonly patients: PatientStore
  /** The API Platform's grants and tokens: durable, in the SQL store, outside units of work. */
  readonly apiGrants: ApiGrantStore
  /**
   * Runs `work` as one unit of work and returns its result. Everything `work` writes through `tx`
   * commits when it resolves, and nothing of it is kept when it throws (the error is rethrown
   * as it was). Concurrent units, and calls outside one, never see a unit's writes before it
   * commits. The unit covers the durable parts of the SQL store only: where the short-lived data
   * lives in Redis, and for anything else `work` does (a file, an event to other nodes), the caller
   * orders those effects itself, after the commit and safe to retry. `work` should be short and
   * should reach only `tx` for stored data: an adapter may hold a write lock until it ends (the
   * embedded store makes every other caller wait for it).
   */
  transaction<T>(work: (tx: UnitOfWork) => Promise<T>): Promise<T>
  /** Reachable and migrated (for /ready); false once closed. */
  ping(): Promise<boolean>
  /** Idempotent. */
  close(): Promise<void>
}
