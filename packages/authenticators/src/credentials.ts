/**
 * Credential helpers shared by the authenticators: finding a person's credential of one kind,
 * replacing it at enrolment, and updating its state with compare-and-set.
 */
import { randomUUID } from 'node:crypto'
import type { CredentialRecord, CredentialStore } from '@careid/ports'
import type { CredentialState } from './lockout.ts'

/**
 * A bound on compare-and-set retries. Each retry means another writer succeeded, so this is only
 * reached under a flood of concurrent attempts on one credential or a store that never applies
 * writes; failing loudly beats spinning.
 */
const MAX_CAS_ATTEMPTS = 100

/** The person's credential of `kind` (enrolment keeps at most one per kind). */
export async function findCredential(
  credentials: CredentialStore,
  uid: string,
  kind: string,
): Promise<CredentialRecord | undefined> {
  const all = await credentials.listByPerson(uid)
  return all.find((credential) => credential.kind === kind)
}

/**
 * Replaces the person's credential of `kind` with a fresh one (new id, clean state). A new id means
 * an attempt still holding the old record fails its compare-and-set instead of writing onto the
 * new credential.
 */
export async function replaceCredential(
  credentials: CredentialStore,
  uid: string,
  kind: string,
  secret: string,
  now: number,
): Promise<CredentialRecord> {
  for (const old of await credentials.listByPerson(uid)) {
    if (old.kind === kind) await credentials.remove(old.id)
  }
  const credential: CredentialRecord = {
    id: randomUUID(),
    uid,
    kind,
    secret,
    state: {},
    version: 0,
    created_at: now,
  }
  await credentials.put(credential)
  return credential
}

/** What one compare-and-set round decided: the value to return and the state to write, if any. */
export interface StateDecision<T> {
  result: T
  /** Omitted when nothing needs writing; the decision then stands as read. */
  state?: CredentialState | undefined
}

/**
 * Reads the credential, applies `decide` and writes the state it asks for with compare-and-set,
 * reading and deciding again whenever another writer got there first. Every decision is therefore
 * made on state read after the caller's slow checks (argon2, HMAC) finished: concurrent failures
 * are all counted, a lock set meanwhile is honoured, and of two submissions of one TOTP code only
 * one sees it unused. Returns `whenGone` if the credential disappears (re-enrolled or removed).
 */
export async function updateCredentialState<T>(
  credentials: CredentialStore,
  id: string,
  decide: (credential: CredentialRecord) => StateDecision<T>,
  whenGone: T,
): Promise<T> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const current = await credentials.get(id)
    if (current === undefined) return whenGone
    const decision = decide(current)
    if (decision.state === undefined) return decision.result
    if (await credentials.updateState(id, current.version, decision.state)) return decision.result
  }
  throw new Error(`credential state update did not settle after ${MAX_CAS_ATTEMPTS} attempts`)
}
