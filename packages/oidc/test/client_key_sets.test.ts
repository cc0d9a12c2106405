import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { exportJWK, generateKeyPair, SignJWT, jwtVerify } from 'jose'
import { createClientKeySets } from '../src/client_key_sets.ts'

async function rsaKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256' } }
}

describe('client key sets', () => {
  it('builds an inline set once and keeps it, so a client’s key is imported once, not per request', async () => {
    const keySets = createClientKeySets({ cacheMaxAgeMs: 60_000, timeoutMs: 5_000 })
    const { jwk } = await rsaKey('k1')
    // Each request reads the client afresh from the store: equal keys, new objects.
    const first = keySets({ jwks: { keys: [{ ...jwk }] } })
    assert.ok(first)
    assert.equal(keySets({ jwks: { keys: [{ ...jwk }] } }), first)
  })

  it('takes new keys at once when the registration changes, and verifies with them', async () => {
    const keySets = createClientKeySets({ cacheMaxAgeMs: 60_000, timeoutMs: 5_000 })
    const old = await rsaKey('k1')
    const rotated = await rsaKey('k2')
    const before = keySets({ jwks: { keys: [old.jwk] } })
    const after = keySets({ jwks: { keys: [rotated.jwk] } })
    assert.notEqual(after, before)
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k2' }).sign(rotated.privateKey)
    assert.equal((await jwtVerify(jwt, after as NonNullable<typeof after>)).protectedHeader.kid, 'k2')
    await assert.rejects(jwtVerify(jwt, before as NonNullable<typeof before>))
  })

  it('keeps one set per JWKS URL, and has none for a client without keys', () => {
    const keySets = createClientKeySets({ cacheMaxAgeMs: 60_000, timeoutMs: 5_000 })
    const set = keySets({ jwks_uri: 'https://app.example/jwks' })
    assert.ok(set)
    assert.equal(keySets({ jwks_uri: 'https://app.example/jwks' }), set)
    assert.notEqual(keySets({ jwks_uri: 'https://other.example/jwks' }), set)
    assert.equal(keySets({}), undefined)
  })
})
