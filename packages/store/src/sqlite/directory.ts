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
import { sqliteRows, type Sqlite, type SqliteColumns } from './database.ts'

const { toClient, toCredential, toKey, toPerson } = sqliteRows

/** Relying parties, keyed by client_id. */
export function sqliteClientStore({ db }: Sqlite): ClientStore {
  const select = db.prepare(`SELECT ${clientColumns} FROM clients WHERE client_id = ?`)
  const selectAll = db.prepare(`SELECT ${clientColumns} FROM clients ORDER BY client_id`)
  // INSERT OR REPLACE would delete and re-insert; an upsert keeps the row in place.
  const upsert = db.prepare(`
    INSERT INTO clients (${clientColumns})
    VALUES (@client_id, @client_name, @redirect_uris, @post_logout_redirect_uris, @backchannel_logout_uri,
      @token_endpoint_auth_method, @client_secret_hash, @jwks_uri, @jwks, @token_endpoint_auth_signing_alg,
      @refresh_tokens, @web_origins, @created_at)
    ON CONFLICT (client_id) DO UPDATE SET
      client_name = excluded.client_name, redirect_uris = excluded.redirect_uris,
      post_logout_redirect_uris = excluded.post_logout_redirect_uris,
      backchannel_logout_uri = excluded.backchannel_logout_uri,
      token_endpoint_auth_method = excluded.token_endpoint_auth_method,
      client_secret_hash = excluded.client_secret_hash, jwks_uri = excluded.jwks_uri, jwks = excluded.jwks,
      token_endpoint_auth_signing_alg = excluded.token_endpoint_auth_signing_alg,
      refresh_tokens = excluded.refresh_tokens, web_origins = excluded.web_origins, created_at = excluded.created_at`)
  const remove = db.prepare('DELETE FROM clients WHERE client_id = ?')

  return {
    async get(clientId) {
      const row = select.get(clientId) as ClientRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toClient(row)
    },
    async list() {
      return (selectAll.all() as ClientRow<SqliteColumns>[]).map(toClient)
    },
    async put(client) {
      upsert.run({
        client_id: client.client_id,
        client_name: client.client_name,
        redirect_uris: JSON.stringify(client.redirect_uris),
        post_logout_redirect_uris: JSON.stringify(client.post_logout_redirect_uris),
        backchannel_logout_uri: client.backchannel_logout_uri ?? null,
        token_endpoint_auth_method: client.token_endpoint_auth_method,
        client_secret_hash: client.client_secret_hash ?? null,
        jwks_uri: client.jwks_uri ?? null,
        jwks: client.jwks === undefined ? null : JSON.stringify(client.jwks),
        token_endpoint_auth_signing_alg: client.token_endpoint_auth_signing_alg ?? null,
        // libsql cannot bind booleans (it aborts the process), so this is 0 or 1.
        refresh_tokens: client.refresh_tokens ? 1 : 0,
        web_origins: client.web_origins === undefined ? null : JSON.stringify(client.web_origins),
        created_at: client.created_at,
      })
    },
    async remove(clientId) {
      return remove.run(clientId).changes > 0
    },
  }
}

/** Signing keys; a partial unique index keeps at most one active. */
export function sqliteKeyStore(sqlite: Sqlite): KeyStore {
  const { db } = sqlite
  const selectAll = db.prepare(`SELECT ${keyColumns} FROM signing_keys ORDER BY created_at, kid`)
  const upsert = db.prepare(`
    INSERT INTO signing_keys (${keyColumns})
    VALUES (@kid, @alg, @public_jwk, @private_jwk_encrypted, @state, @created_at, @activate_at, @remove_at)
    ON CONFLICT (kid) DO UPDATE SET
      alg = excluded.alg, public_jwk = excluded.public_jwk, private_jwk_encrypted = excluded.private_jwk_encrypted,
      state = excluded.state, created_at = excluded.created_at, activate_at = excluded.activate_at,
      remove_at = excluded.remove_at`)
  const selectState = db.prepare('SELECT state FROM signing_keys WHERE kid = ?')
  const retireActive = db.prepare(`UPDATE signing_keys SET state = 'retired', remove_at = ? WHERE state = 'active'`)
  const makeActive = db.prepare(`UPDATE signing_keys SET state = 'active' WHERE kid = ?`)
  const removeExpired = db.prepare(`DELETE FROM signing_keys WHERE state = 'retired' AND remove_at <= ? RETURNING kid`)

  return {
    async list() {
      return (selectAll.all() as KeyRow<SqliteColumns>[]).map(toKey)
    },
    async put(key) {
      upsert.run({
        kid: key.kid,
        alg: key.alg,
        public_jwk: JSON.stringify(key.public_jwk),
        private_jwk_encrypted: key.private_jwk_encrypted,
        state: key.state,
        created_at: key.created_at,
        activate_at: key.activate_at,
        remove_at: key.remove_at ?? null,
      })
    },
    async activate(kid, retireRemoveAt) {
      return sqlite.write(() => {
        const row = selectState.get(kid) as { state: string } | undefined
        if (row?.state !== 'next') return false
        // Retire first: the one-active index would reject two active keys even for an instant.
        retireActive.run(retireRemoveAt)
        makeActive.run(kid)
        return true
      })
    },
    async removeExpired(now) {
      return (removeExpired.all(now) as { kid: string }[]).map((row) => row.kid)
    },
  }
}

/** People, as opaque JSON documents keyed by uid, with a unique username. */
export function sqlitePersonStore({ db }: Sqlite): PersonStore {
  const select = db.prepare('SELECT person FROM people WHERE uid = ?')
  const selectByUsername = db.prepare('SELECT person FROM people WHERE username = ?')
  const selectAll = db.prepare('SELECT person FROM people ORDER BY uid')
  // Not INSERT OR REPLACE: that would silently delete another person holding the same username,
  // where the UNIQUE constraint should refuse the write.
  const upsert = db.prepare(`
    INSERT INTO people (uid, username, person) VALUES (?, ?, ?)
    ON CONFLICT (uid) DO UPDATE SET username = excluded.username, person = excluded.person`)

  return {
    async get(uid) {
      const row = select.get(uid) as PersonRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toPerson(row)
    },
    async getByUsername(username) {
      const row = selectByUsername.get(username) as PersonRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toPerson(row)
    },
    async list() {
      return (selectAll.all() as PersonRow<SqliteColumns>[]).map(toPerson)
    },
    async put(uid, username, person) {
      upsert.run(uid, username, JSON.stringify(person))
    },
  }
}

/** Credentials, whose state changes only by compare-and-set on `version`. */
export function sqliteCredentialStore({ db }: Sqlite): CredentialStore {
  const selectByPerson = db.prepare(`SELECT ${credentialColumns} FROM credentials WHERE uid = ? ORDER BY created_at, id`)
  const select = db.prepare(`SELECT ${credentialColumns} FROM credentials WHERE id = ?`)
  const upsert = db.prepare(`
    INSERT INTO credentials (${credentialColumns}) VALUES (@id, @uid, @kind, @secret, @state, @version, @created_at)
    ON CONFLICT (id) DO UPDATE SET
      uid = excluded.uid, kind = excluded.kind, secret = excluded.secret, state = excluded.state,
      version = excluded.version, created_at = excluded.created_at`)
  const updateState = db.prepare('UPDATE credentials SET state = ?, version = version + 1 WHERE id = ? AND version = ?')
  const remove = db.prepare('DELETE FROM credentials WHERE id = ?')

  return {
    async listByPerson(uid) {
      return (selectByPerson.all(uid) as CredentialRow<SqliteColumns>[]).map(toCredential)
    },
    async get(id) {
      const row = select.get(id) as CredentialRow<SqliteColumns> | undefined
      return row === undefined ? undefined : toCredential(row)
    },
    async put(credential) {
      upsert.run({
        id: credential.id,
        uid: credential.uid,
        kind: credential.kind,
        secret: credential.secret,
        state: JSON.stringify(credential.state),
        version: credential.version,
        created_at: credential.created_at,
      })
    },
    async updateState(id, expectedVersion, state) {
      return updateState.run(JSON.stringify(state), id, expectedVersion).changes > 0
    },
    async remove(id) {
      return remove.run(id).changes > 0
    },
  }
}
