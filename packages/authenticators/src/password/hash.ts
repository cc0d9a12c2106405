/**
 * Password hashing: argon2id at the OWASP Password Storage Cheat Sheet's baseline
 * (19 MiB memory, 2 passes, 1 lane). The result is a PHC string that carries its own parameters and
 * salt, so raising the parameters later still verifies old hashes.
 */
import { randomBytes } from 'node:crypto'
import type { Algorithm } from '@node-rs/argon2'
import { hash, verify } from '@node-rs/argon2'

/** `Algorithm.Argon2id`: the package declares a const enum, which verbatimModuleSyntax cannot read. */
const ARGON2ID: Algorithm.Argon2id = 2

/** The argon2id parameters new hashes are made with. */
export const ARGON2ID_PARAMETERS = {
  algorithm: ARGON2ID,
  /** KiB. */
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
} as const

/**
 * NIST SP 800-63B 5.1.1.2 asks verifiers to normalise Unicode passwords, so the same password typed
 * on keyboards that compose characters differently still matches.
 */
function normalise(password: string): string {
  return password.normalize('NFKC')
}

/** Hashes a password with argon2id; returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`). */
export function hashPassword(password: string): Promise<string> {
  return hash(normalise(password), ARGON2ID_PARAMETERS)
}

/** True when `password` matches the PHC string `hash`. Rejects if the hash is not a valid PHC string. */
export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return verify(hash, normalise(password))
}

/** Verifies a password against a PHC hash: `verifyPassword`, or a stand-in that counts its calls in tests. */
export type VerifyPassword = (hash: string, password: string) => Promise<boolean>

let dummyHash: Promise<string> | undefined

/**
 * A hash, made with the same parameters as real ones, that no password matches (the password it
 * was made from is random and forgotten). Checked when there is no hash to check (unknown
 * username, no password credential) so that every check costs one argon2id verification of the
 * same cost and neither the answer nor its timing tells which usernames exist.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'))
  return dummyHash
}
