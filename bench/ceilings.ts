/**
 * The work no implementation of these benchmarks can skip: RS256 signatures (two per token
 * response) and an argon2id verification (one per password sign-in), timed here in CPU time on the
 * load generator's core. Divided into what oidc-provider spent per request, they bound the ratio
 * any server doing that same work could reach against it.
 */
import { constants, generateKeyPairSync, sign } from 'node:crypto'
import { hashPassword, verifyPassword } from '../packages/authenticators/src/password/hash.ts'
import { ownCpuSeconds } from './processes.ts'

export interface UnitCosts {
  /** CPU milliseconds of one RS256 signature with a 2048-bit key (node:crypto). */
  rs256SignMs: number
  /** CPU milliseconds (every thread) of one argon2id verification at Careid's parameters. */
  argon2VerifyMs: number
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
  return { rs256SignMs, argon2VerifyMs }
}
