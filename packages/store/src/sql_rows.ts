/**
 * The rows both SQL adapters read, their column lists, and the converters that turn a row into a
 * contract record. The SQLite and PostgreSQL schemas have the same tables and columns; only the form
 * in which each driver hands back a few kinds of column differs, so the converters read those
 * columns through the adapter's ColumnDecoder and are written once here.
 */
import type {
  AuditEvent,
  AuthorizationCodeRecord,
  CardRecord,
  ClientAssertionAlg,
  ClientRecord,
  CredentialRecord,
  GrantRecord,
  InteractionRecord,
  Json,
  LogoutNotification,
  RefreshTokenRecord,
  SessionRecord,
  SigningKeyRecord,
  TokenEndpointAuthMethod,
} from '@careid/ports'

/**
 * How one driver represents the kinds of column whose form differs between the adapters. Small
 * integer columns (aal, attempts) arrive as numbers from both drivers, so rows type them directly.
 */
export interface ColumnTypes {
  /** A time or a counter (BIGINT in PostgreSQL). */
  int: unknown
  /** A JSON document. */
  json: unknown
  /** A flag. */
  bool: unknown
}

/**
 * Turns one driver's column values into record values. The converters call these methods unbound,
 * so an implementation must not use `this`.
 */
export interface ColumnDecoder<C extends ColumnTypes> {
  int(value: C['int']): number
  /** SQL NULL stays `null`, which the converters turn into an absent field. */
  optionalInt(value: C['int'] | null): number | null
  json<T>(value: C['json']): T
  bool(value: C['bool']): boolean
}

export interface ClientRow<C extends ColumnTypes> {
  client_id: string
  client_name: string
  redirect_uris: C['json']
  post_logout_redirect_uris: C['json']
  backchannel_logout_uri: string | null
  token_endpoint_auth_method: string
  client_secret_hash: string | null
  jwks_uri: string | null
  jwks: C['json'] | null
  token_endpoint_auth_signing_alg: string | null
  refresh_tokens: C['bool']
  web_origins: C['json'] | null
  created_at: C['int']
}

export const clientColumns =
  'client_id, client_name, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, token_endpoint_auth_method, ' +
  'client_secret_hash, jwks_uri, jwks, token_endpoint_auth_signing_alg, refresh_tokens, web_origins, created_at'

export interface KeyRow<C extends ColumnTypes> {
  kid: string
  alg: string
  public_jwk: C['json']
  private_jwk_encrypted: string
  state: string
  created_at: C['int']
  activate_at: C['int']
  remove_at: C['int'] | null
}

export const keyColumns = 'kid, alg, public_jwk, private_jwk_encrypted, state, created_at, activate_at, remove_at'

export interface PersonRow<C extends ColumnTypes> {
  person: C['json']
}

export interface CredentialRow<C extends ColumnTypes> {
  id: string
  uid: string
  kind: string
  secret: string
  state: C['json']
  version: C['int']
  created_at: C['int']
}

export const credentialColumns = 'id, uid, kind, secret, state, version, created_at'

export interface GrantRow<C extends ColumnTypes> {
  grant_id: string
  client_id: string
  sub: string
  sid: string
  scope: string
  sign_in: C['json'] | null
  created_at: C['int']
  expires_at: C['int']
  revoked_at: C['int'] | null
}

export const grantColumns = 'grant_id, client_id, sub, sid, scope, sign_in, created_at, expires_at, revoked_at'

export interface RefreshTokenRow<C extends ColumnTypes> {
  token_hash: string
  grant_id: string
  client_id: string
  created_at: C['int']
  expires_at: C['int']
  rotated_at: C['int'] | null
}

export const tokenColumns = 'token_hash, grant_id, client_id, created_at, expires_at, rotated_at'

export interface CodeRow<C extends ColumnTypes> {
  code_hash: string
  client_id: string
  redirect_uri: string
  grant_id: string
  expires_at: C['int']
  payload: C['json']
  redeemed_at: C['int'] | null
}

export const codeColumns = 'code_hash, client_id, redirect_uri, grant_id, expires_at, payload'

export interface SessionRow<C extends ColumnTypes> {
  session_hash: string
  sid: string
  sub: string
  amr: C['json']
  aal: number
  auth_time: C['int']
  created_at: C['int']
  last_seen_at: C['int']
  expires_at: C['int']
  idle_expires_at: C['int']
  selected_roleid: string | null
  clients: C['json']
  binding: string | null
}

export const sessionColumns =
  'session_hash, sid, sub, amr, aal, auth_time, created_at, last_seen_at, expires_at, idle_expires_at, selected_roleid, clients, binding'

export interface InteractionRow<C extends ColumnTypes> {
  id: string
  expires_at: C['int']
  payload: C['json']
}

export interface NotificationRow<C extends ColumnTypes> {
  id: string
  client_id: string
  backchannel_logout_uri: string
  sub: string
  sid: string
  created_at: C['int']
  attempts: number
  next_attempt_at: C['int']
  claimed_by: string | null
  claim_expires_at: C['int'] | null
  delivered_at: C['int'] | null
  gave_up_at: C['int'] | null
  last_error: string | null
}

export const notificationColumns =
  'id, client_id, backchannel_logout_uri, sub, sid, created_at, attempts, next_attempt_at, claimed_by, claim_expires_at, ' +
  'delivered_at, gave_up_at, last_error'

export interface AuditRow<C extends ColumnTypes> {
  at: C['int']
  type: string
  actor: string | null
  subject: string | null
  client_id: string | null
  before_digest: string | null
  after_digest: string | null
  detail: C['json'] | null
}

export const auditColumns = 'at, type, actor, subject, client_id, before_digest, after_digest, detail'

export interface CardRow<C extends ColumnTypes> {
  serial: string
  uid: string
  kind: string
  certificate: string
  not_before: C['int']
  not_after: C['int']
  created_at: C['int']
  status: string
  revoked_at: C['int'] | null
  failed_attempts: number
  locked_at: C['int'] | null
  unlock_secrets_sealed: string | null
  authentication_key: string | null
}

export const cardColumns =
  'serial, uid, kind, certificate, not_before, not_after, created_at, status, revoked_at, failed_attempts, locked_at, unlock_secrets_sealed, authentication_key'

/** Optional columns: SQL NULL becomes an absent field, never `null`. */
function setIfPresent<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | null): void {
  if (value !== null) target[key] = value
}

/**
 * The converters for one adapter's rows. Called once per adapter, when its database module loads,
 * so reading a row costs only the record it builds. Each converter takes just the row, so it can be
 * handed straight to `Array.prototype.map`.
 */
export function rowReaders<C extends ColumnTypes>({ int, optionalInt, json, bool }: ColumnDecoder<C>) {
  return {
    toClient(row: ClientRow<C>): ClientRecord {
      const client: ClientRecord = {
        client_id: row.client_id,
        client_name: row.client_name,
        redirect_uris: json(row.redirect_uris),
        post_logout_redirect_uris: json(row.post_logout_redirect_uris),
        token_endpoint_auth_method: row.token_endpoint_auth_method as TokenEndpointAuthMethod,
        refresh_tokens: bool(row.refresh_tokens),
        created_at: int(row.created_at),
      }
      setIfPresent(client, 'backchannel_logout_uri', row.backchannel_logout_uri)
      setIfPresent(client, 'client_secret_hash', row.client_secret_hash)
      setIfPresent(client, 'jwks_uri', row.jwks_uri)
      if (row.jwks !== null) client.jwks = json(row.jwks)
      setIfPresent(client, 'token_endpoint_auth_signing_alg', row.token_endpoint_auth_signing_alg as ClientAssertionAlg | null)
      if (row.web_origins !== null) client.web_origins = json(row.web_origins)
      return client
    },

    toKey(row: KeyRow<C>): SigningKeyRecord {
      const key: SigningKeyRecord = {
        kid: row.kid,
        alg: row.alg as SigningKeyRecord['alg'],
        public_jwk: json(row.public_jwk),
        private_jwk_encrypted: row.private_jwk_encrypted,
        state: row.state as SigningKeyRecord['state'],
        created_at: int(row.created_at),
        activate_at: int(row.activate_at),
      }
      setIfPresent(key, 'remove_at', optionalInt(row.remove_at))
      return key
    },

    toPerson(row: PersonRow<C>): Json {
      return json(row.person)
    },

    toCredential(row: CredentialRow<C>): CredentialRecord {
      return {
        id: row.id,
        uid: row.uid,
        kind: row.kind,
        secret: row.secret,
        state: json(row.state),
        version: int(row.version),
        created_at: int(row.created_at),
      }
    },

    toGrant(row: GrantRow<C>): GrantRecord {
      const grant: GrantRecord = {
        grant_id: row.grant_id,
        client_id: row.client_id,
        sub: row.sub,
        sid: row.sid,
        scope: row.scope,
        created_at: int(row.created_at),
        expires_at: int(row.expires_at),
      }
      if (row.sign_in !== null) grant.sign_in = json(row.sign_in)
      setIfPresent(grant, 'revoked_at', optionalInt(row.revoked_at))
      return grant
    },

    toRefreshToken(row: RefreshTokenRow<C>): RefreshTokenRecord {
      const token: RefreshTokenRecord = {
        token_hash: row.token_hash,
        grant_id: row.grant_id,
        client_id: row.client_id,
        created_at: int(row.created_at),
        expires_at: int(row.expires_at),
      }
      setIfPresent(token, 'rotated_at', optionalInt(row.rotated_at))
      return token
    },

    toCode(row: CodeRow<C>): AuthorizationCodeRecord {
      return {
        code_hash: row.code_hash,
        client_id: row.client_id,
        redirect_uri: row.redirect_uri,
        grant_id: row.grant_id,
        expires_at: int(row.expires_at),
        payload: json(row.payload),
      }
    },

    toSession(row: SessionRow<C>): SessionRecord {
      const session: SessionRecord = {
        session_hash: row.session_hash,
        sid: row.sid,
        sub: row.sub,
        amr: json(row.amr),
        aal: row.aal as SessionRecord['aal'],
        auth_time: int(row.auth_time),
        created_at: int(row.created_at),
        last_seen_at: int(row.last_seen_at),
        expires_at: int(row.expires_at),
        idle_expires_at: int(row.idle_expires_at),
        clients: json(row.clients),
      }
      setIfPresent(session, 'selected_roleid', row.selected_roleid)
      setIfPresent(session, 'binding', row.binding)
      return session
    },

    toInteraction(row: InteractionRow<C>): InteractionRecord {
      return { id: row.id, expires_at: int(row.expires_at), payload: json(row.payload) }
    },

    toNotification(row: NotificationRow<C>): LogoutNotification {
      const notification: LogoutNotification = {
        id: row.id,
        client_id: row.client_id,
        backchannel_logout_uri: row.backchannel_logout_uri,
        sub: row.sub,
        sid: row.sid,
        created_at: int(row.created_at),
        attempts: row.attempts,
        next_attempt_at: int(row.next_attempt_at),
      }
      setIfPresent(notification, 'claimed_by', row.claimed_by)
      setIfPresent(notification, 'claim_expires_at', optionalInt(row.claim_expires_at))
      setIfPresent(notification, 'delivered_at', optionalInt(row.delivered_at))
      setIfPresent(notification, 'gave_up_at', optionalInt(row.gave_up_at))
      setIfPresent(notification, 'last_error', row.last_error)
      return notification
    },

    toCard(row: CardRow<C>): CardRecord {
      const card: CardRecord = {
        serial: row.serial,
        uid: row.uid,
        kind: row.kind as CardRecord['kind'],
        certificate: row.certificate,
        not_before: int(row.not_before),
        not_after: int(row.not_after),
        created_at: int(row.created_at),
        status: row.status as CardRecord['status'],
        failed_attempts: row.failed_attempts,
      }
      setIfPresent(card, 'revoked_at', optionalInt(row.revoked_at))
      setIfPresent(card, 'locked_at', optionalInt(row.locked_at))
      setIfPresent(card, 'unlock_secrets_sealed', row.unlock_secrets_sealed)
      setIfPresent(card, 'authentication_key', row.authentication_key)
      return card
    },

    toAuditEvent(row: AuditRow<C>): AuditEvent {
      const event: AuditEvent = { at: int(row.at), type: row.type }
      setIfPresent(event, 'actor', row.actor)
      setIfPresent(event, 'subject', row.subject)
      setIfPresent(event, 'client_id', row.client_id)
      setIfPresent(event, 'before_digest', row.before_digest)
      setIfPresent(event, 'after_digest', row.after_digest)
      if (row.detail !== null) event.detail = json(row.detail)
      return event
    },
  }
}

/** claimDue's order: earliest due first, and ties in the order the claiming query picks them (by id). */
export function byDueTime(a: LogoutNotification, b: LogoutNotification): number {
  return a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}
