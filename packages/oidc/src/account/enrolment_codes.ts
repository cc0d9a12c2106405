/**
 * The Registration Authority's one-time enrolment codes (cis2.md 4: a worker who holds no
 * authenticator has one "issued by an RA"). A code lets one worker register one method once, within
 * its lifetime. It is stored only as its SHA-256, as a credential record of its own kind keyed by
 * that hash, so a read of the store yields no usable code; using it deletes the record, which the
 * store does atomically, so of two uses only one gets it.
 */
import { randomInt } from 'node:crypto'
import type { CredentialRecord, CredentialStore } from '@careid/ports'
import { sha256 } from '../crypto.ts'

/** The credential kind of an unused enrolment code. No authenticator reads it; the account area lists no such kind. */
export const ENROLMENT_CODE_KIND = 'enrolment_code'

/** 72 hours: time for the worker to get to a computer after seeing the RA. */
export const enrolmentCodeTtlMs = 72 * 60 * 60 * 1000

/**
 * Crockford's base32: no I, L, O or U, so a code read aloud or copied from paper is not misread;
 * what people type for the missing letters is read as the digit it looks like.
 */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** 20 characters of 5 bits: 100 bits, far beyond guessing within a code's lifetime and the rate limit. */
const codeLength = 20
const groupLength = 4

/** A new code, in groups of four for reading: `7KQM-3XWD-...`. */
export function newEnrolmentCode(): string {
  let code = ''
  for (let i = 0; i < codeLength; i++) code += alphabet[randomInt(alphabet.length)]
  return (code.match(new RegExp(`.{${groupLength}}`, 'g')) ?? []).join('-')
}

/** The code as typed, reduced to its characters (case, spaces and dashes ignored; O, I, L read as 0, 1, 1); undefined if it cannot be a code. */
export function normaliseEnrolmentCode(typed: string): string | undefined {
  const chars = typed.toUpperCase().replace(/[\s-]+/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  if (chars.length !== codeLength || [...chars].some((c) => !alphabet.includes(c))) return undefined
  return chars
}

/** The credential id an enrolment code is stored under: its hash, never the code. */
export function enrolmentCodeId(normalised: string): string {
  return `${ENROLMENT_CODE_KIND}:${sha256(normalised)}`
}

export interface IssuedEnrolmentCode {
  /** Shown once, to the RA, to hand to the worker. */
  code: string
  expires_at: number
  record: CredentialRecord
}

/** The record of a new code for `uid` and `method`, and the code (grouped) to hand over. Storing it is the caller's (with its audit entry). */
export function enrolmentCodeRecord(uid: string, method: string, now: number, ttlMs = enrolmentCodeTtlMs, actor = 'ra'): IssuedEnrolmentCode {
  const code = newEnrolmentCode()
  const expires_at = now + ttlMs
  const record: CredentialRecord = {
    id: enrolmentCodeId(normaliseEnrolmentCode(code) as string),
    uid,
    kind: ENROLMENT_CODE_KIND,
    // Nothing secret to keep: the id is the hash, and the hash is all that is kept.
    secret: '',
    state: { method, expires_at, issued_by: actor },
    version: 0,
    created_at: now,
  }
  return { code, expires_at, record }
}

/**
 * Uses the code `typed` for `uid`: the method it was issued for, or undefined when it is not a code,
 * not this person's, already used or expired (one answer for all, so nothing can be learned from
 * which). A good code is deleted on the way, atomically: it is then used, whatever follows.
 */
export async function useEnrolmentCode(credentials: CredentialStore, uid: string, typed: string, now: number): Promise<string | undefined> {
  const normalised = normaliseEnrolmentCode(typed)
  if (normalised === undefined) return undefined
  const record = await credentials.get(enrolmentCodeId(normalised))
  if (record === undefined || record.kind !== ENROLMENT_CODE_KIND || record.uid !== uid) return undefined
  const { method, expires_at } = record.state
  if (typeof expires_at !== 'number' || expires_at <= now || typeof method !== 'string') {
    // Expired: of no use to anyone any more.
    await credentials.remove(record.id)
    return undefined
  }
  return (await credentials.remove(record.id)) ? method : undefined
}
