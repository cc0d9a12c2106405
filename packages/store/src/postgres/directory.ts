/**
 * The administered records: relying parties, signing keys, people and their credentials.
 */
import type { ClientStore, CredentialStore, KeyStore, PersonStore } from '@careid/ports'
import {
  clientColumns,
  credentialColumns,
  keyColumns,
  type ClientRow,
  type CredentialRow,
  type KeyRow,
  type PersonRow,
} from '../sql_rows.ts'
import { json, postgresRows, type Postgres, type PostgresColumns } from './database.ts'

const { toClient, toCredential, toKey, toPerson } = postgresRows

/** Relying parties, keyed by client_id. */
export function postgresClientStore({ query }: Postgres): ClientStore {
  return {
    async get(clientId) {
      const { rows } = await query<ClientRow<PostgresColumns>>(`SELECT ${clientColumns} FROM clients WHERE client_id = $1`, [clientId])
      return rows[0] === undefined ? undefined : toClient(rows[0])
    },
    async list() {
      const { rows } = await query<ClientRow<PostgresColumns>>(`SELECT ${clientColumns} FROM clients ORDER BY client_id`)
      return rows.map(toClient)
    },
    async put(client) {
      await query(
        `INSERT INTO clients (${clientColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (client_id) DO UPDATE SET
          client_name = EXCLUDED.client_name, redirect_uris = EXCLUDED.redirect_uris,
          post_logout_redirect_uris = EXCLUDED.post_logout_redirect_uris,
          backchannel_logout_uri = EXCLUDED.backchannel_logout_uri,
          token_endpoint_auth_method = EXCLUDED.token_endpoint_auth_method,
          client_secret_hash = EXCLUDED.client_secret_hash, jwks_uri = EXCLUDED.jwks_uri, jwks = EXCLUDED.jwks,
          token_endpoint_auth_signing_alg = EXCLUDED.token_endpoint_auth_signing_alg,
          refresh_tokens = EXCLUDED.refresh_tokens, web_origins = EXCLUDED.web_origins, created_at = EXCLUDED.created_at`,
        [
          client.client_id,
          client.client_name,
          json(client.redirect_uris),
          json(client.post_logout_redirect_uris),
          client.backchannel_logout_uri ?? null,
          client.token_endpoint_auth_method,
          client.client_secret_hash ?? null,
          client.jwks_uri ?? null,
          client.jwks === undefined ? null : json(client.jwks),
          client.token_endpoint_auth_signing_alg ?? null,
          client.refresh_tokens,
          client.web_origins === undefined ? null : json(client.web_origins),
          client.created_at,
        ],
      )
    },
    async remove(clientId) {
      const { rowCount } = await query('DELETE FROM clients WHERE client_id = $1', [clientId])
      return (rowCount ?? 0) > 0
    },
  }
}

/** Signing keys; a partial unique index keeps at most one active. */
export function postgresKeyStore({ query, transaction }: Postgres): KeyStore {
  return {
    async list() {
      const { rows } = await query<KeyRow<PostgresColumns>>(`SELECT ${keyColumns} FROM signing_keys ORDER BY created_at, kid`)
      return rows.map(toKey)
    },
    async put(key) {
      await query(
        `INSERT INTO signing_keys (${keyColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (kid) DO UPDATE SET
          alg = EXCLUDED.alg, public_jwk = EXCLUDED.public_jwk, private_jwk_encrypted = EXCLUDED.private_jwk_encrypted,
          state = EXCLUDED.state, created_at = EXCLUDED.created_at, activate_at = EXCLUDED.activate_at,
          remove_at = EXCLUDED.remove_at`,
        [key.kid, key.alg, json(key.public_jwk), key.private_jwk_encrypted, key.state, key.created_at, key.activate_at, key.remove_at ?? null],
      )
    },
    async activate(kid, retireRemoveAt) {
      return transaction(async (tx) => {
        // Activations (and key writes) take turns; reads go on. Row locks alone are not enough: a
        // second activation's "retire the active key" would use a snapshot from before the first
        // committed, miss the key it just activated, and hit the one-active index.
        await tx('LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE')
        const { rows } = await tx<{ state: string }>('SELECT state FROM signing_keys WHERE kid = $1', [kid])
        if (rows[0]?.state !== 'next') return false
        // Retire first: the one-active index would reject two active keys even for an instant.
        await tx(`UPDATE signing_keys SET state = 'retired', remove_at = $1 WHERE state = 'active'`, [retireRemoveAt])
        await tx(`UPDATE signing_keys SET state = 'active' WHERE kid = $1`, [kid])
        return true
      })
    },
    async removeExpired(now) {
      const { rows } = await query<{ kid: string }>(`DELETE FROM signing_keys WHERE state = 'retired' AND remove_at <= $1 RETURNING kid`, [now])
      return rows.map((row) => row.kid)
    },
  }
}

/** People, as opaque JSON documents keyed by uid, with a unique username. */
export function postgresPersonStore({ query }: Postgres): PersonStore {
  return {
    async get(uid) {
      const { rows } = await query<PersonRow<PostgresColumns>>('SELECT person FROM people WHERE uid = $1', [uid])
      return rows[0] === undefined ? undefined : toPerson(rows[0])
    },
    async getByUsername(username) {
      const { rows } = await query<PersonRow<PostgresColumns>>('SELECT person FROM people WHERE username = $1', [username])
      return rows[0] === undefined ? undefined : toPerson(rows[0])
    },
    async list() {
      const { rows } = await query<PersonRow<PostgresColumns>>('SELECT person FROM people ORDER BY uid')
      return rows.map(toPerson)
    },
    async put(uid, username, person) {
      // The UNIQUE constraint on username refuses a name another person holds.
      await query(
        `INSERT INTO people (uid, username, person) VALUES ($1, $2, $3)
        ON CONFLICT (uid) DO UPDATE SET username = EXCLUDED.username, person = EXCLUDED.person`,
        [uid, username, json(person)],
      )
    },
  }
}

/** Credentials, whose state changes only by compare-and-set on `version`. */
export function postgresCredentialStore({ query }: Postgres): CredentialStore {
  return {
    async listByPerson(uid) {
      const { rows } = await query<CredentialRow<PostgresColumns>>(`SELECT ${credentialColumns} FROM credentials WHERE uid = $1 ORDER BY created_at, id`, [uid])
      return rows.map(toCredential)
    },
    async get(id) {
      const { rows } = await query<CredentialRow<PostgresColumns>>(`SELECT ${credentialColumns} FROM credentials WHERE id = $1`, [id])
      return rows[0] === undefined ? undefined : toCredential(rows[0])
    },
    async put(credential) {
      await query(
        `INSERT INTO credentials (${credentialColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (id) DO UPDATE SET
          uid = EXCLUDED.uid, kind = EXCLUDED.kind, secret = EXCLUDED.secret, state = EXCLUDED.state,
          version = EXCLUDED.version, created_at = EXCLUDED.created_at`,
        [credential.id, credential.uid, credential.kind, credential.secret, json(credential.state), credential.version, credential.created_at],
      )
    },
    async updateState(id, expectedVersion, state) {
      // A concurrent writer holds the row lock until it commits; this statement then re-checks the
      // version against the committed row, so only one of them matches.
      const { rowCount } = await query('UPDATE credentials SET state = $1, version = version + 1 WHERE id = $2 AND version = $3', [
        json(state),
        id,
        expectedVersion,
      ])
      return (rowCount ?? 0) > 0
    },
    async remove(id) {
      const { rowCount } = await query('DELETE FROM credentials WHERE id = $1', [id])
      return (rowCount ?? 0) > 0
    },
  }
}
