/**
 * WebAuthn credentials as stored: one `CredentialRecord` each, its id the WebAuthn credential id
 * (base64url) so the authenticator's answer finds it, kind `webauthn`, the COSE public key as its
 * `secret` (not secret, but the material the record checks with), and in `state` what sign-in
 * checks again each time.
 */
import type { CredentialKind, CredentialRecord, CredentialStore, EnrolledCredential, Json } from '@careid/ports'
import { kindProfiles, WEBAUTHN_CREDENTIAL, webAuthnKinds, type WebAuthnKind } from './kinds.ts'

export interface WebAuthnCredentialState {
  webauthn_kind: WebAuthnKind
  /** The level decided at registration (sign-in re-checks backup eligibility). */
  level: 2 | 3
  /** The last signature counter seen. */
  counter: number
  aaguid: string
  /** The attestation format registered with (`packed`, `tpm`, `none`, ...). */
  fmt: string
  /** The authenticator model, when its attestation chained to known metadata. */
  model?: string | undefined
  transports: string[]
  /** BE: the credential may be synced to other devices. */
  backup_eligible: boolean
  /** BS: it is backed up now. */
  backed_up: boolean
  /**
   * The WebAuthn user handle the authenticator holds for this person: random, never the UID
   * (WebAuthn L3 14.6.1: "It is RECOMMENDED to let the user handle be 64 random bytes").
   */
  user_handle: string
  last_used_at?: number | undefined
}

/** The stored state, checked: undefined for a record that is not a WebAuthn credential of a known kind. */
export function webAuthnState(record: CredentialRecord | undefined): WebAuthnCredentialState | undefined {
  if (record === undefined || record.kind !== WEBAUTHN_CREDENTIAL) return undefined
  const s = record.state
  const kind = s['webauthn_kind']
  if (typeof kind !== 'string' || !(webAuthnKinds as readonly string[]).includes(kind)) return undefined
  if ((s['level'] !== 2 && s['level'] !== 3) || typeof s['counter'] !== 'number' || typeof s['user_handle'] !== 'string' || typeof s['aaguid'] !== 'string') return undefined
  const transports = Array.isArray(s['transports']) ? s['transports'].filter((t): t is string => typeof t === 'string') : []
  return {
    webauthn_kind: kind as WebAuthnKind,
    level: s['level'],
    counter: s['counter'],
    aaguid: s['aaguid'],
    fmt: typeof s['fmt'] === 'string' ? s['fmt'] : 'none',
    model: typeof s['model'] === 'string' ? s['model'] : undefined,
    transports,
    backup_eligible: s['backup_eligible'] === true,
    backed_up: s['backed_up'] === true,
    user_handle: s['user_handle'],
    last_used_at: typeof s['last_used_at'] === 'number' ? s['last_used_at'] : undefined,
  }
}

export function stateJson(state: WebAuthnCredentialState): { [key: string]: Json } {
  const json: { [key: string]: Json } = {}
  for (const [key, value] of Object.entries(state)) if (value !== undefined) json[key] = value as Json
  return json
}

/** The person's WebAuthn credentials, with their checked state. */
export async function webAuthnCredentialsOf(credentials: CredentialStore, uid: string): Promise<Array<{ record: CredentialRecord; state: WebAuthnCredentialState }>> {
  const found = []
  for (const record of await credentials.listByPerson(uid)) {
    const state = webAuthnState(record)
    if (state !== undefined) found.push({ record, state })
  }
  return found
}

/** A credential as the person's sign-in methods page lists it. */
function listed(record: CredentialRecord, state: WebAuthnCredentialState): EnrolledCredential {
  const detail: { [key: string]: string | number | boolean } = {
    level: `AAL${state.level}`,
    authenticator: state.model ?? 'Not attested',
    synced: state.backup_eligible,
  }
  if (state.last_used_at !== undefined) detail['last_used_at'] = state.last_used_at
  return { id: record.id, kind: state.webauthn_kind, created_at: record.created_at, detail }
}

/** The list and remove halves for one kind, for the "Your sign-in methods" page. */
export function webAuthnCredentialKind(credentials: CredentialStore, kind: WebAuthnKind): CredentialKind {
  return {
    kind,
    label: kindProfiles[kind].method.label,
    async list(uid) {
      return (await webAuthnCredentialsOf(credentials, uid)).filter(({ state }) => state.webauthn_kind === kind).map(({ record, state }) => listed(record, state))
    },
    async remove(uid, id) {
      const record = await credentials.get(id)
      if (record === undefined || record.uid !== uid || webAuthnState(record)?.webauthn_kind !== kind) return false
      return credentials.remove(id)
    },
  }
}
