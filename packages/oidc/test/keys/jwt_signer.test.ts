import { strict as assert } from 'node:assert'
import { generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import { createJwtSigner, hashClaim } from '../../src/keys/index.ts'

describe('jwt signer', () => {
  const pairs = {
    RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    PS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  }

  for (const alg of ['RS256', 'PS256', 'ES256'] as const) {
    it(`signs ${alg} JWTs that jose verifies, with the header { alg, kid, typ }`, async () => {
      const { privateKey, publicKey } = pairs[alg]
      const signer = createJwtSigner(privateKey, alg, 'k1')
      const token = signer.sign({ sub: 'alice', n: 1 }, 'logout+jwt')
      const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg } as JWK
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: [jwk] }), { algorithms: [alg] })
      assert.deepEqual(protectedHeader, { alg, kid: 'k1', typ: 'logout+jwt' })
      assert.deepEqual(payload, { sub: 'alice', n: 1 })
      // The cached header is reused; a second typ gets its own.
      assert.equal(signer.sign({}, 'logout+jwt').split('.')[0], token.split('.')[0])
      assert.equal(JSON.parse(Buffer.from(signer.sign({}, 'JWT').split('.')[0]!, 'base64url').toString()).typ, 'JWT')
    })
  }

  it('refuses keys that do not fit the algorithm', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    assert.throws(() => createJwtSigner(small.privateKey, 'RS256', 'k'), TypeError)
    assert.throws(() => createJwtSigner(pairs.ES256.privateKey, 'RS256', 'k'), TypeError)
    assert.throws(() => createJwtSigner(pairs.RS256.privateKey, 'ES256', 'k'), TypeError)
    assert.throws(() => createJwtSigner(pairs.RS256.publicKey, 'RS256', 'k'), TypeError)
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
    assert.throws(() => createJwtSigner(p384.privateKey, 'ES256', 'k'), TypeError)
  })

  it('computes at_hash and c_hash as in the OIDC Core examples (A.3, A.4)', () => {
    assert.equal(hashClaim('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y', 'RS256'), '77QmUPtjPfzWtF2AnpK9RQ')
    assert.equal(hashClaim('Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk', 'RS256'), 'LDktKdoQak3Pk0cnXxCltA')
    assert.equal(hashClaim('Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk', 'ES256'), 'LDktKdoQak3Pk0cnXxCltA')
    assert.equal(hashClaim('Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk', 'PS256'), 'LDktKdoQak3Pk0cnXxCltA')
  })
})
