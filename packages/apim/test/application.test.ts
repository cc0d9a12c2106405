import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { sha256 } from '@careid/oidc'
import { apiKeyPattern, generateApiKey, InvalidApplication, registerApplication, type ApplicationRegistration } from '../src/index.ts'

const T = 1_700_000_000_000
const pdsAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
const pdsAal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'
const pdsLevel3 = 'urn:nhsd:apim:app:level3:personal-demographics-service'
const sampleAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api'

const publicJwk = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid: 'app-key-1', alg: 'RS512', use: 'sig' }

function registration(changes: Partial<ApplicationRegistration> = {}): ApplicationRegistration {
  return { name: 'Ward rounds', callback_urls: ['https://ward.example/callback'], scopes: [pdsAal3], ...changes }
}

function refusal(changes: Partial<ApplicationRegistration>, message: string): void {
  assert.throws(() => registerApplication(registration(changes), T), (error: unknown) => {
    assert.ok(error instanceof InvalidApplication)
    assert.equal(error.message, message)
    return true
  })
}

describe('registering an API Platform application', () => {
  it('makes an API key in the platform shape and a secret kept only as its SHA-256 hash', () => {
    const { application, secret } = registerApplication(registration(), T)
    assert.match(application.api_key, apiKeyPattern)
    assert.match(application.api_key, /^[A-Za-z0-9]{32}$/)
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(application.secret_hash, sha256(secret))
    assert.equal(JSON.stringify(application).includes(secret), false)
    assert.deepStrictEqual(application, {
      api_key: application.api_key,
      name: 'Ward rounds',
      secret_hash: sha256(secret),
      callback_urls: ['https://ward.example/callback'],
      subscriptions: [{ product: 'personal-demographics-service', scopes: [pdsAal3] }],
      created_at: T,
    })
  })

  it('gives every application its own API key and secret', () => {
    const a = registerApplication(registration(), T)
    const b = registerApplication(registration(), T)
    assert.notEqual(a.application.api_key, b.application.api_key)
    assert.notEqual(a.secret, b.secret)
    assert.notEqual(generateApiKey(), generateApiKey())
  })

  it('groups the scopes by product, in catalogue order, each once; keeps the keys and callback URLs once each', () => {
    const { application } = registerApplication(
      registration({
        name: '  GP system  ',
        callback_urls: ['https://gp.example/cb', 'http://localhost:3000/cb', 'https://gp.example/cb'],
        jwks: { keys: [publicJwk] },
        scopes: [sampleAal3, pdsLevel3, pdsAal2, pdsAal3, pdsAal2],
      }),
      T,
    )
    assert.equal(application.name, 'GP system')
    assert.deepStrictEqual(application.callback_urls, ['https://gp.example/cb', 'http://localhost:3000/cb'])
    assert.deepStrictEqual(application.jwks, { keys: [publicJwk] })
    assert.equal('jwks_uri' in application, false)
    assert.deepStrictEqual(application.subscriptions, [
      { product: 'personal-demographics-service', scopes: [pdsAal3, pdsAal2, pdsLevel3] },
      { product: 'sample-aal3-api', scopes: [sampleAal3] },
    ])
  })

  it('keeps a JWKS URL for an application-restricted scope', () => {
    const { application } = registerApplication(registration({ jwks_uri: 'https://gp.example/jwks.json', scopes: [pdsLevel3] }), T)
    assert.equal(application.jwks_uri, 'https://gp.example/jwks.json')
    assert.equal('jwks' in application, false)
  })

  describe('refuses, with the reason', () => {
    it('an empty name', () => refusal({ name: '  ' }, 'the application needs a name'))
    it('no callback URL', () => refusal({ callback_urls: [] }, 'at least one callback URL is required'))
    it('a callback URL that is not absolute', () => refusal({ callback_urls: ['/callback'] }, 'callback URL is not an absolute URL: /callback'))
    it('a callback URL with a fragment', () =>
      refusal({ callback_urls: ['https://ward.example/cb#x'] }, 'callback URL must not have a fragment: https://ward.example/cb#x'))
    it('an http callback URL off localhost', () =>
      refusal({ callback_urls: ['http://ward.example/cb'] }, 'callback URL must use https (http is allowed only on localhost): http://ward.example/cb'))
    it('both a JWKS URL and an inline JWKS', () =>
      refusal({ jwks_uri: 'https://ward.example/jwks', jwks: { keys: [publicJwk] } }, 'give a JWKS URL or an inline JWKS, not both'))
    it('an http JWKS URL', () =>
      refusal({ jwks_uri: 'http://ward.example/jwks' }, 'JWKS URL must use https (http is allowed only on localhost): http://ward.example/jwks'))
    it('a JWKS without keys', () => refusal({ jwks: { keys: [] } }, 'JWKS must be an object with a non-empty "keys" array'))
    it('a JWKS that is not an object', () => refusal({ jwks: 'keys' }, 'JWKS must be an object with a non-empty "keys" array'))
    it('a JWK that is not an object', () => refusal({ jwks: { keys: ['k'] } }, 'every JWK must be a JSON object'))
    it('a private key', () => {
      const privateJwk = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'k' }
      refusal({ jwks: { keys: [privateJwk] } }, 'the JWKS contains a private key; register public keys only')
    })
    it('a key that is not RSA', () => {
      const ecJwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid: 'k' }
      refusal({ jwks: { keys: [ecJwk] } }, 'every JWK must be an RSA public key ("kty": "RSA" with "n" and "e"): client assertions are signed with RS512')
    })
    it('a key without a kid', () => {
      const { kid: _kid, ...noKid } = publicJwk
      refusal({ jwks: { keys: [noKid] } }, 'every JWK needs a "kid": a client assertion names its key by kid')
    })
    it('a key for another algorithm', () =>
      refusal({ jwks: { keys: [{ ...publicJwk, alg: 'RS256' }] } }, 'the JWK app-key-1 is for RS256; client assertions are signed with RS512'))
    it('two keys with one kid', () => refusal({ jwks: { keys: [publicJwk, { ...publicJwk }] } }, 'two JWKs share the kid app-key-1'))
    it('no product scope', () => refusal({ scopes: [] }, 'at least one product scope is required'))
    it('a scope no product has, listing the known ones', () =>
      refusal(
        { scopes: [pdsAal3, 'urn:nhsd:apim:user-nhs-cis2:aal1:personal-demographics-service'] },
        'unknown product scope urn:nhsd:apim:user-nhs-cis2:aal1:personal-demographics-service; known scopes: ' +
          'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service, urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service, ' +
          'urn:nhsd:apim:user-nhs-id:aal3:personal-demographics-service, urn:nhsd:apim:app:level3:personal-demographics-service, ' +
          'urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api',
      ))
    it('an application-restricted scope without public keys', () =>
      refusal(
        { scopes: [pdsAal3, pdsLevel3] },
        'urn:nhsd:apim:app:level3:personal-demographics-service is application-restricted, reached only with a signed JWT: give the application\'s public keys (a JWKS URL or an inline JWKS)',
      ))
  })
})
