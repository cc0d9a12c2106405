import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import {
  assertRefusal,
  clientAssertion,
  clientCredentialsForm,
  grantOfAccess,
  keyPair,
  pdsAal3,
  pdsLevel3,
  startPlatform,
  tokenExchangeForm,
  type Platform,
  type TestApplication,
} from './support/token_endpoint.ts'

describe('the platform token endpoint: client credentials with a signed JWT (cis2.md 6.5)', () => {
  let platform: Platform
  let app: TestApplication
  before(async () => {
    platform = await startPlatform()
    app = await platform.application([pdsAal3, pdsLevel3])
  })
  after(async () => platform.close())

  it('issues an access token for the application-restricted scopes only, without a refresh token, its values strings', async () => {
    const response = await platform.post(await clientCredentialsForm(platform, app))
    assert.equal(response.status, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    const { access_token: accessToken, ...rest } = response.body
    assert.deepStrictEqual(rest, { expires_in: '599', token_type: 'Bearer', issued_at: String(platform.clock.now) })
    const found = await grantOfAccess(platform, String(accessToken))
    assert.ok(found)
    assert.deepStrictEqual(
      { pattern: found.grant.pattern, scope: found.grant.scope, user: found.grant.user, api_key: found.grant.api_key },
      { pattern: 'client_credentials', scope: pdsLevel3, user: undefined, api_key: app.apiKey },
    )
  })

  it('shortens the access token when asked with _access_token_expiry_ms', async () => {
    const response = await platform.post(await clientCredentialsForm(platform, app, { _access_token_expiry_ms: '100000' }))
    assert.equal(response.body.expires_in, '99')
    const long = await platform.post(await clientCredentialsForm(platform, app, { _access_token_expiry_ms: '1000000' }))
    assert.equal(long.body.expires_in, '599')
  })

  it('refuses an application without application-restricted scopes with 401 unauthorized_client', async () => {
    const userOnly = await platform.application([pdsAal3], {})
    assertRefusal(
      await platform.post(await clientCredentialsForm(platform, userOnly)),
      401,
      'unauthorized_client',
      'you have tried to request authorization but your application is not configured to use this authorization grant type',
    )
  })

  it('refuses a client secret instead of an assertion: client_assertion_type is checked first', async () => {
    assertRefusal(
      await platform.post({ grant_type: 'client_credentials', client_id: app.apiKey, client_secret: app.secret }),
      400,
      'invalid_request',
      "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'",
    )
  })
})

/** Each row of the client assertion table (cis2.md 6.3 step 2, 6.7; the platform's e2e tests), for both grants that use one. */
for (const grant of ['client_credentials', 'token_exchange'] as const) {
  describe(`the platform's client assertion, at ${grant}`, () => {
    let platform: Platform
    let app: TestApplication
    before(async () => {
      platform = await startPlatform()
      app = await platform.application([pdsAal3, pdsLevel3])
    })
    after(async () => platform.close())

    async function post(changes: Record<string, string | undefined>) {
      const form = grant === 'client_credentials' ? await clientCredentialsForm(platform, app, changes) : await tokenExchangeForm(platform, app, changes)
      return platform.post(form)
    }
    async function withAssertion(options: Parameters<typeof clientAssertion>[2]) {
      return post({ client_assertion: await clientAssertion(app, platform.clock.now, options) })
    }
    const nowS = () => Math.floor(platform.clock.now / 1000)

    it('accepts a valid assertion', async () => {
      assert.equal((await post({})).status, 200)
    })

    it('refuses a missing or other client_assertion_type', async () => {
      const text = "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'"
      assertRefusal(await post({ client_assertion_type: undefined }), 400, 'invalid_request', text)
      assertRefusal(await post({ client_assertion_type: 'invalid' }), 400, 'invalid_request', text)
    })

    it('refuses a missing client_assertion', async () => {
      assertRefusal(await post({ client_assertion: undefined }), 400, 'invalid_request', 'Missing client_assertion')
    })

    it('refuses a client_assertion that is not a JWT', async () => {
      assertRefusal(await post({ client_assertion: 'invalid' }), 400, 'invalid_request', 'Malformed JWT in client_assertion')
    })

    it('refuses an RS256 assertion: RS512 only', async () => {
      const { privateKey } = await keyPair('RS256', app.key.kid)
      assertRefusal(await withAssertion({ header: { alg: 'RS256' }, key: privateKey }), 400, 'invalid_request', "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'")
    })

    it('refuses a missing kid', async () => {
      assertRefusal(await withAssertion({ header: { kid: undefined } }), 400, 'invalid_request', "Missing 'kid' header in client_assertion JWT")
    })

    it('refuses a kid not in the application\'s JWKS with 401', async () => {
      assertRefusal(await withAssertion({ header: { kid: 'invalid' } }), 401, 'invalid_request', "Invalid 'kid' header in client_assertion JWT - no matching public key")
    })

    it('refuses a typ other than JWT, or none', async () => {
      const text = "Invalid 'typ' header in client_assertion JWT - must be 'JWT'"
      assertRefusal(await withAssertion({ header: { typ: 'invalid' } }), 400, 'invalid_request', text)
      assertRefusal(await withAssertion({ header: { typ: undefined } }), 400, 'invalid_request', text)
      assert.equal((await withAssertion({ header: { typ: 'jwt' } })).status, 200, 'typ is compared without case')
    })

    it('refuses iss and sub naming no application with 401', async () => {
      assertRefusal(await withAssertion({ claims: { iss: 'invalid', sub: 'invalid' } }), 401, 'invalid_request', "Invalid 'iss'/'sub' claims in client_assertion JWT")
    })

    it('refuses a missing or non-matching iss or sub', async () => {
      const text = "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT"
      assertRefusal(await withAssertion({ claims: { sub: 'invalid' } }), 400, 'invalid_request', text)
      assertRefusal(await withAssertion({ claims: { sub: undefined } }), 400, 'invalid_request', text)
      assertRefusal(await withAssertion({ claims: { iss: 'invalid' } }), 400, 'invalid_request', text)
      assertRefusal(await withAssertion({ claims: { iss: undefined } }), 400, 'invalid_request', text)
    })

    it('refuses a missing jti, and one that is not a string', async () => {
      assertRefusal(await withAssertion({ claims: { jti: undefined } }), 400, 'invalid_request', "Missing 'jti' claim in client_assertion JWT")
      assertRefusal(await withAssertion({ claims: { jti: 1234567890 } }), 400, 'invalid_request', "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID")
    })

    it('refuses a jti used before: "Non-unique \'jti\' claim"', async () => {
      const assertion = await clientAssertion(app, platform.clock.now)
      assert.equal((await post({ client_assertion: assertion })).status, 200)
      assertRefusal(await post({ client_assertion: assertion }), 400, 'invalid_request', "Non-unique 'jti' claim in client_assertion JWT")
    })

    it('does not let a forged assertion use up a jti', async () => {
      const forger = await keyPair('RS512', app.key.kid)
      const assertion = await clientAssertion(app, platform.clock.now, { claims: { jti: 'shared-jti' }, key: forger.privateKey })
      assertRefusal(await post({ client_assertion: assertion }), 401, 'public_key error', 'JWT signature verification failed')
      assert.equal((await withAssertion({ claims: { jti: 'shared-jti' } })).status, 200)
    })

    it('refuses an aud other than the token URL, or none, with 401', async () => {
      const text = "Missing or invalid 'aud' claim in client_assertion JWT"
      assertRefusal(await withAssertion({ claims: { aud: 'invalid' } }), 401, 'invalid_request', text)
      assertRefusal(await withAssertion({ claims: { aud: undefined } }), 401, 'invalid_request', text)
    })

    it('refuses an exp that is not a number', async () => {
      assertRefusal(await withAssertion({ claims: { exp: String(nowS() + 300) } }), 400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - must be an integer")
    })

    it('refuses an expired assertion', async () => {
      assertRefusal(await withAssertion({ claims: { exp: nowS() - 20 } }), 400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - JWT has expired")
    })

    it('refuses an exp more than 5 minutes ahead (the platform allows 310 s)', async () => {
      assertRefusal(await withAssertion({ claims: { exp: nowS() + 360 } }), 400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future")
      assertRefusal(await withAssertion({ claims: { exp: nowS() + 312 } }), 400, 'invalid_request', "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future")
      assert.equal((await withAssertion({ claims: { exp: nowS() + 309 } })).status, 200)
    })

    it('refuses a missing exp', async () => {
      assertRefusal(await withAssertion({ claims: { exp: undefined } }), 400, 'invalid_request', "Missing 'exp' claim in client_assertion JWT")
    })

    it('refuses a forged signature with 401 public_key error', async () => {
      const forger = await keyPair('RS512', app.key.kid)
      assertRefusal(await withAssertion({ key: forger.privateKey }), 401, 'public_key error', 'JWT signature verification failed')
    })

    it('checks the algorithm before the rest, as the platform does', async () => {
      const { privateKey } = await keyPair('RS256', 'x')
      assertRefusal(await withAssertion({ header: { alg: 'RS256', kid: undefined, typ: undefined }, claims: { jti: undefined }, key: privateKey }), 400, 'invalid_request', "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'")
    })

    it('refuses an application without public keys with 403 public_key error', async () => {
      const keyless = await platform.application([pdsAal3], { withoutKeys: true })
      const assertion = await clientAssertion(keyless, platform.clock.now)
      const form = grant === 'client_credentials' ? await clientCredentialsForm(platform, keyless, { client_assertion: assertion }) : await tokenExchangeForm(platform, keyless, { client_assertion: assertion })
      assertRefusal(await platform.post(form), 403, 'public_key error', 'You need to register a public key to use this authentication method - please contact support to configure')
    })
  })
}

describe('the platform\'s client assertion with a JWKS URL', () => {
  let platform: Platform
  let jwksServer: Server
  let jwksUrl: string
  let served: object
  let fetches = 0
  before(async () => {
    platform = await startPlatform()
    jwksServer = createServer((_request, response) => {
      fetches += 1
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served))
    })
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
    jwksUrl = `http://localhost:${(jwksServer.address() as AddressInfo).port}/jwks.json`
  })
  after(async () => {
    await platform.close()
    await new Promise((resolve) => jwksServer.close(resolve))
  })

  it('fetches the application\'s keys from its JWKS URL, and keeps them', async () => {
    const app = await platform.application([pdsLevel3], { jwks_uri: jwksUrl })
    served = { keys: [app.key.jwk] }
    assert.equal((await platform.post(await clientCredentialsForm(platform, app))).status, 200)
    assert.equal((await platform.post(await clientCredentialsForm(platform, app))).status, 200)
    assert.equal(fetches, 1)
  })

  it('refuses an assertion whose JWKS URL cannot be reached with 403 public_key error', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const app = await platform.application([pdsLevel3], { jwks_uri: `http://localhost:${port}/jwks.json` })
    assertRefusal(await platform.post(await clientCredentialsForm(platform, app)), 403, 'public_key error', "The JWKS endpoint, for your client_assertion can't be reached")
  })

  it('refuses a kid the JWKS URL does not publish with 401', async () => {
    const app = await platform.application([pdsLevel3], { jwks_uri: `${jwksUrl}?other` })
    served = { keys: [(await keyPair('RS512', 'someone-else')).jwk] }
    assertRefusal(await platform.post(await clientCredentialsForm(platform, app)), 401, 'invalid_request', "Invalid 'kid' header in client_assertion JWT - no matching public key")
  })
})
