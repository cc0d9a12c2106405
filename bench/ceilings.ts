/**
 * The work no implementation of these benchmarks can skip: RS256 signatures (two per token
 * response) and an argon2id verification (one per password sign-in), timed here in CPU time on the
 * load generator's core. Divided into what oidc-provider spent per request, they bound the ratio
 * any server doing that same work could reach against it. And the two signature checks of a token
 * exchange at the platform (cis2.md 6.3): the application's RS512 client assertion and the CIS2 ID
 * token (RS256), both with 2048-bit RSA keys; times their count over the server's CPU seconds, they
 * are the share of the exchange's cost that no implementation can avoid.
 */
import { constants, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { hashPassword, verifyPassword } from '../packages/authenticators/src/password/hash.ts'
import { ownCpuSeconds } from './processes.ts'

export interface UnitCosts {
  /** CPU milliseconds of one RS256 signature with a 2048-bit key (node:crypto). */
  rs256SignMs: number
  /** CPU milliseconds (every thread) of one argon2id verification at Careid's parameters. */
  argon2VerifyMs: number
  /** CPU milliseconds of one RS512 verification with a 2048-bit key, over a client assertion's signing input. */
  rs512VerifyMs: number
  /** CPU milliseconds of one RS256 verification with a 2048-bit key, over an ID token's signing input. */
  rs256VerifyMs: number
}

/** CPU milliseconds per call of `work`, after a warm-up. */
function cpuMsPer(times: number, work: () => void): number {
  for (let i = 0; i < Math.ceil(times / 10); i++) work()
  const from = ownCpuSeconds()
  for (let i = 0; i < times; i++) work()
  return ((ownCpuSeconds() - from) * 1000) / times
}

export async function measureUnitCosts(): Promise<UnitCosts> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  // About the size of a token's signing input.
  const input = Buffer.from('x'.repeat(800), 'latin1')
  const key = { key: privateKey, padding: constants.RSA_PKCS1_PADDING }
  for (let i = 0; i < 20; i++) sign('sha256', input, key)
  const signs = 200
  let from = ownCpuSeconds()
  for (let i = 0; i < signs; i++) sign('sha256', input, key)
  const rs256SignMs = ((ownCpuSeconds() - from) * 1000) / signs

  const password = 'correct horse battery staple'
  const hash = await hashPassword(password)
  await verifyPassword(hash, password)
  const verifies = 8
  from = ownCpuSeconds()
  for (let i = 0; i < verifies; i++) await verifyPassword(hash, password)
  const argon2VerifyMs = ((ownCpuSeconds() - from) * 1000) / verifies

  // About the sizes of the signing inputs: a client assertion's (header, iss, sub, aud, jti, exp)
  // and a CIS2 ID token's (its claims, with the role and assurance ones).
  const assertion = Buffer.from('x'.repeat(420), 'latin1')
  const idToken = Buffer.from('x'.repeat(1100), 'latin1')
  const publicKey = { key: createPublicKey(privateKey), padding: constants.RSA_PKCS1_PADDING }
  const assertionSignature = sign('sha512', assertion, key)
  const idTokenSignature = sign('sha256', idToken, key)
  const rs512VerifyMs = cpuMsPer(2_000, () => {
    if (!verify('sha512', assertion, publicKey, assertionSignature)) throw new Error('RS512 verification failed')
  })
  const rs256VerifyMs = cpuMsPer(2_000, () => {
    if (!verify('sha256', idToken, publicKey, idTokenSignature)) throw new Error('RS256 verification failed')
  })
  return { rs256SignMs, argon2VerifyMs, rs512VerifyMs, rs256VerifyMs }
}
