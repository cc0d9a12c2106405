/**
 * Client registration: every metadata rule, the CIS2 client_id shape, and the secret handed out
 * once and stored only as its SHA-256 hash.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPairSync } from 'node:crypto'
import { clientIdPattern } from '../src/clients.ts'
import { InvalidClientMetadata, generateClientId, registerClient, type ClientMetadata } from '../src/client_registration.ts'
import { sha256 } from '../src/crypto.ts'
import { webOriginsOf } from '../src/web_origins.ts'

const now = 1_750_000_000_000
const base: ClientMetadata = { client_name: 'Ward app', redirect_uris: ['https://ward.example/cb'], token_endpoint_auth_method: 'client_secret_post' }
const register = (changes: Partial<ClientMetadata>) => registerClient({ ...base, ...changes }, now)

function refused(changes: Partial<ClientMetadata>, message: RegExp): void {
  assert.throws(() => register(changes), (e: unknown) => {
    assert.ok(e instanceof InvalidClientMetadata, String(e))
    assert.match(e.message, message)
    return true
  })
}

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }
const privateJwk = privateKey.export({ format: 'jwk' })

describe('client ids', () => {
  it('generates CIS2-shaped ids (12 digits, no leading zero, .apps.national), all different', () => {
    const ids = new Set(Array.from({ length: 200 }, generateClientId))
    assert.equal(ids.size, 200)
    for (const id of ids) assert.match(id, /^[1-9]\d{11}\.apps\.national$/)
  })

  it('keeps a given id of the right shape and refuses any other', () => {
    assert.equal(register({ client_id: '969567331415.apps.national' }).client.client_id, '969567331415.apps.national')
    for (const id of ['96956733141.apps.national', '9695673314150.apps.national', '969567331415.apps.supplier', 'abc', '969567331415.apps.national\n']) {
      refused({ client_id: id }, /client_id must look like 123456789012\.apps\.national/)
    }
    assert.ok(clientIdPattern.test(register({}).client.client_id))
  })
})

describe('client_name', () => {
  it('is required and trimmed', () => {
    refused({ client_name: '   ' }, /client_name must not be empty/)
    assert.equal(register({ client_name: '  Ward app  ' }).client.client_name, 'Ward app')
  })
})

describe('redirect URIs', () => {
  it('at least one is required', () => {
    refused({ redirect_uris: [] }, /at least one redirect URI/)
  })

  it('must be absolute', () => {
    refused({ redirect_uris: ['/callback'] }, /redirect URI is not an absolute URI: \/callback/)
    refused({ redirect_uris: ['ward.example/cb'] }, /not an absolute URI/)
  })

  it('must not have a fragment, even an empty one ("MUST NOT include a fragment")', () => {
    refused({ redirect_uris: ['https://ward.example/cb#x'] }, /redirect URI must not have a fragment: https:\/\/ward\.example\/cb#x/)
    refused({ redirect_uris: ['https://ward.example/cb#'] }, /must not have a fragment/)
  })

  it('must use https, except http on loopback for native apps and local development', () => {
    refused({ redirect_uris: ['http://ward.example/cb'] }, /redirect URI must use https \(http is allowed only on localhost\): http:\/\/ward\.example\/cb/)
    refused({ redirect_uris: ['http://10.0.0.1/cb'] }, /must use https/)
    refused({ redirect_uris: ['http://localhost.ward.example/cb'] }, /must use https/)
    refused({ redirect_uris: ['com.example.ward:/cb'] }, /must use https/)
    refused({ redirect_uris: ['javascript:alert(1)'] }, /must use https/)
    const ok = register({ redirect_uris: ['http://localhost:3000/cb', 'http://127.0.0.1:8400/cb', 'http://[::1]:8400/cb'] })
    assert.deepEqual(ok.client.redirect_uris, ['http://localhost:3000/cb', 'http://127.0.0.1:8400/cb', 'http://[::1]:8400/cb'])
  })

  it('are checked one by one: one bad URI refuses the lot', () => {
    refused({ redirect_uris: ['https://ward.example/cb', 'http://ward.example/cb'] }, /http:\/\/ward\.example\/cb/)
  })

  it('are kept verbatim (a query survives), without duplicates', () => {
    const { client } = register({ redirect_uris: ['https://ward.example/cb?tenant=a', 'https://ward.example/cb?tenant=a', 'https://ward.example:443/cb'] })
    assert.deepEqual(client.redirect_uris, ['https://ward.example/cb?tenant=a', 'https://ward.example:443/cb'])
  })
})

describe('logout URIs', () => {
  it('post-logout redirect URIs follow the redirect URI rules', () => {
    refused({ post_logout_redirect_uris: ['http://ward.example/bye'] }, /post-logout redirect URI must use https/)
    refused({ post_logout_redirect_uris: ['https://ward.example/bye#x'] }, /post-logout redirect URI must not have a fragment/)
    assert.deepEqual(register({ post_logout_redirect_uris: ['https://ward.example/bye', 'https://ward.example/bye'] }).client.post_logout_redirect_uris, ['https://ward.example/bye'])
    assert.deepEqual(register({}).client.post_logout_redirect_uris, [])
  })

  it('the back-channel logout URI follows them too', () => {
    refused({ backchannel_logout_uri: 'http://ward.example/bcl' }, /back-channel logout URI must use https/)
    refused({ backchannel_logout_uri: 'not a uri' }, /back-channel logout URI is not an absolute URI/)
    assert.equal(register({ backchannel_logout_uri: 'https://ward.example/bcl' }).client.backchannel_logout_uri, 'https://ward.example/bcl')
    assert.equal(register({}).client.backchannel_logout_uri, undefined)
  })
})

describe('token endpoint authentication', () => {
  it('only the supported methods', () => {
    for (const method of ['client_secret_jwt', 'tls_client_auth', 'CLIENT_SECRET_POST', '']) {
      refused({ token_endpoint_auth_method: method }, /token endpoint auth method must be one of client_secret_post, client_secret_basic, private_key_jwt, none/)
    }
  })

  it('client secrets are 256-bit, returned once and stored only as their SHA-256 hash', () => {
    for (const method of ['client_secret_post', 'client_secret_basic']) {
      const { client, client_secret } = register({ token_endpoint_auth_method: method })
      assert.equal(typeof client_secret, 'string')
      assert.match(client_secret as string, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url')
      assert.equal(client.client_secret_hash, sha256(client_secret as string))
      assert.equal(JSON.stringify(client).includes(client_secret as string), false, 'the secret itself is not in the record')
      assert.equal(client.token_endpoint_auth_method, method)
    }
    assert.notEqual(register({}).client_secret, register({}).client_secret)
  })

  it('public clients (none) get no secret', () => {
    const { client, client_secret } = register({ token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:8400/cb'] })
    assert.equal(client_secret, undefined)
    assert.equal(client.client_secret_hash, undefined)
  })

  it('keys are refused unless the method is private_key_jwt', () => {
    refused({ jwks_uri: 'https://ward.example/jwks' }, /keys are only used with private_key_jwt/)
    refused({ token_endpoint_auth_method: 'none', jwks: { keys: [publicJwk] } }, /keys are only used with private_key_jwt/)
  })
})

describe('private_key_jwt', () => {
  const pkj = (changes: Partial<ClientMetadata>) => ({ token_endpoint_auth_method: 'private_key_jwt', ...changes })

  it('with a JWKS URI: no secret, RS256 unless told otherwise', () => {
    const { client, client_secret } = register(pkj({ jwks_uri: 'https://ward.example/jwks.json' }))
    assert.equal(client_secret, undefined)
    assert.equal(client.client_secret_hash, undefined)
    assert.equal(client.jwks_uri, 'https://ward.example/jwks.json')
    assert.equal(client.jwks, undefined)
    assert.equal(client.token_endpoint_auth_signing_alg, 'RS256')
    assert.equal(register(pkj({ jwks_uri: 'https://ward.example/jwks.json', token_endpoint_auth_signing_alg: 'RS512' })).client.token_endpoint_auth_signing_alg, 'RS512')
  })

  it('with inline public keys', () => {
    const { client } = register(pkj({ jwks: { keys: [publicJwk] } }))
    assert.deepEqual(client.jwks, { keys: [publicJwk] })
    assert.equal(client.jwks_uri, undefined)
  })

  it('needs exactly one of a JWKS URI or inline keys', () => {
    refused(pkj({}), /exactly one of a JWKS URI or an inline JWKS/)
    refused(pkj({ jwks_uri: 'https://ward.example/jwks.json', jwks: { keys: [publicJwk] } }), /exactly one of/)
  })

  it('checks the JWKS URI like any other', () => {
    refused(pkj({ jwks_uri: 'http://ward.example/jwks.json' }), /JWKS URI must use https/)
  })

  it('refuses an unsupported signing algorithm', () => {
    for (const alg of ['HS256', 'none', 'RS384']) refused(pkj({ jwks_uri: 'https://ward.example/jwks.json', token_endpoint_auth_signing_alg: alg }), /signing algorithm must be one of RS256, RS512, PS256, ES256/)
  })

  it('refuses a malformed JWKS', () => {
    refused(pkj({ jwks: publicJwk }), /non-empty "keys" array/)
    refused(pkj({ jwks: { keys: [] } }), /non-empty "keys" array/)
    refused(pkj({ jwks: null }), /non-empty "keys" array/)
    refused(pkj({ jwks: { keys: [{ kid: 'no-kty' }] } }), /every JWK needs a "kty"/)
    refused(pkj({ jwks: { keys: ['RSA'] } }), /every JWK needs a "kty"/)
  })

  it('refuses a private key, so it is never stored', () => {
    refused(pkj({ jwks: { keys: [publicJwk, privateJwk] } }), /contains a private key; register public keys only/)
  })
})

describe('the stored record', () => {
  it('carries the registration time and refresh-token choice (off unless asked)', () => {
    const { client } = register({})
    assert.equal(client.created_at, now)
    assert.equal(client.refresh_tokens, false)
    assert.equal(register({ refresh_tokens: true }).client.refresh_tokens, true)
  })
})

describe('web origins (CORS)', () => {
  it('are the redirect URIs\' origins unless listed: scheme, host and port, each once', () => {
    const { client } = register({ redirect_uris: ['https://ward.example/cb', 'https://ward.example:8443/cb', 'http://localhost:3000/cb?x=1', 'https://ward.example/other'] })
    assert.equal(client.web_origins, undefined, 'nothing is stored: later redirect URIs are followed')
    assert.deepEqual(webOriginsOf(client), ['https://ward.example', 'https://ward.example:8443', 'http://localhost:3000'])
  })

  it('when listed, replace the redirect URIs\' origins and are kept without duplicates', () => {
    const { client } = register({ web_origins: ['https://spa.example', 'http://127.0.0.1:5173', 'https://spa.example'] })
    assert.deepEqual(client.web_origins, ['https://spa.example', 'http://127.0.0.1:5173'])
    assert.deepEqual(webOriginsOf(client), ['https://spa.example', 'http://127.0.0.1:5173'])
  })

  it('must be origins alone, https except on loopback', () => {
    for (const origin of ['https://spa.example/', 'https://spa.example/app', 'https://spa.example?x', 'https://user@spa.example', 'https://SPA.example', 'https://spa.example:443', '*', 'null', 'spa.example']) {
      refused({ web_origins: [origin] }, /web origin must be scheme:\/\/host\[:port\] alone/)
    }
    refused({ web_origins: ['http://spa.example'] }, /web origin must use https \(http is allowed only on localhost\): http:\/\/spa\.example/)
  })
})
