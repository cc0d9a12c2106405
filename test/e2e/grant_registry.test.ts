/**
 * The token endpoint's grant registry, used from outside the protocol core the way a plugin uses
 * it: a grant registered on a running Careid is advertised in discovery, reached through the
 * provider's own client authentication (every method, with its assertion replay cache), answers
 * with the token type it chooses, and has its refusals rendered by the one error renderer. A grant
 * type nobody registered is still `unsupported_grant_type`. A second token endpoint, built from the
 * same parts, answers in its own response shape.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { SignJWT, type JWK } from 'jose'
import { createTokenEndpoint, InvalidClient, InvalidGrant, randomToken, UnsupportedGrantType, type Grant, type TokenRequest, type TokenResponse } from '@careid/oidc'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { expectJsonError } from '../support/refusals.ts'
import { postForm } from '../support/sso_codes.ts'

const testGrantType = 'urn:example:test-grant'
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** What the test grant saw of each request it handled. */
interface Seen {
  client_id: string
  subject: string
  dpop: string | undefined
}

/** A grant that exchanges a `subject` for an opaque token of type `N_A`; the subject `refused` is refused. */
function testGrant(seen: Seen[]): Grant<TokenResponse> {
  return {
    grantType: testGrantType,
    parameters: ['subject'],
    async handle({ client, params, request }) {
      const subject = params.require('subject')
      if (subject === 'refused') throw new InvalidGrant('the subject is refused')
      seen.push({ client_id: client.client_id, subject, dpop: request.dpop })
      return { access_token: randomToken(32), token_type: 'N_A', expires_in: 60, scope: '' }
    },
  }
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`
}

describe('grant registry', () => {
  let careid: TestCareid
  let client: { client_id: string; client_secret: string }
  let keyed: { client_id: string; privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'] }
  const seen: Seen[] = []
  const tokenUrl = () => careid.provider.endpoints.token

  before(async () => {
    careid = await startTestCareid()
    careid.provider.registerGrant(testGrant(seen))
    const added = await careid.addClient({ redirect_uris: ['https://grant.example.test/cb'], token_endpoint_auth_method: 'client_secret_basic' })
    client = { client_id: added.client_id, client_secret: added.client_secret as string }
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'k1', alg: 'RS256', use: 'sig' }
    const withKey = await careid.addClient({
      redirect_uris: ['https://keyed.example.test/cb'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      jwks: { keys: [jwk] },
    })
    keyed = { client_id: withKey.client_id, privateKey }
  })

  after(async () => {
    await careid?.close()
  })

  it('advertises a registered grant type in discovery, after the built-in ones', async () => {
    const discovery = (await (await fetch(`${careid.issuer}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] }
    assert.deepEqual(discovery.grant_types_supported, ['authorization_code', 'refresh_token', testGrantType])
    assert.deepEqual(careid.provider.grantTypes(), ['authorization_code', 'refresh_token', testGrantType])
  })

  it('issues the token the grant returns, with the token type it says, to a client authenticated by the provider', async () => {
    const response = await postForm(tokenUrl(), { grant_type: testGrantType, subject: 'alice' }, { authorization: basic(client.client_id, client.client_secret), dpop: 'a.dpop.proof' })
    const text = await response.text()
    assert.equal(response.status, 200, text)
    assert.equal(response.headers.get('cache-control'), 'no-store')
    const body = JSON.parse(text) as Record<string, unknown>
    assert.equal(body.token_type, 'N_A')
    assert.equal(body.expires_in, 60)
    assert.match(body.access_token as string, /^[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(seen.at(-1), { client_id: client.client_id, subject: 'alice', dpop: 'a.dpop.proof' })
  })

  it('refuses a client that fails authentication before the grant runs: 401 invalid_client with a Basic challenge', async () => {
    const before = seen.length
    const response = await postForm(tokenUrl(), { grant_type: testGrantType, subject: 'alice' }, { authorization: basic(client.client_id, 'wrong') })
    assert.equal(response.headers.get('www-authenticate'), 'Basic realm="careid"')
    await expectJsonError(response, { status: 401, error: 'invalid_client', description: 'Client authentication failed', secrets: ['wrong'] })
    assert.equal(seen.length, before, 'the grant never ran')
  })

  it('accepts a private_key_jwt assertion once: the provider replay cache refuses it again', async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(keyed.client_id)
      .setSubject(keyed.client_id)
      .setAudience(tokenUrl())
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(keyed.privateKey)
    const form = { grant_type: testGrantType, subject: 'bob', client_assertion_type: assertionType, client_assertion: assertion }
    const first = await postForm(tokenUrl(), form)
    assert.equal(first.status, 200, await first.clone().text())
    assert.equal(((await first.json()) as { token_type: string }).token_type, 'N_A')
    assert.deepEqual(seen.at(-1), { client_id: keyed.client_id, subject: 'bob', dpop: undefined })
    await expectJsonError(await postForm(tokenUrl(), form), { status: 401, error: 'invalid_client', description: 'JWT is not valid' })
  })

  it("renders the grant's refusals through the one error renderer", async () => {
    const authorization = basic(client.client_id, client.client_secret)
    await expectJsonError(await postForm(tokenUrl(), { grant_type: testGrantType, subject: 'refused' }, { authorization }), { status: 400, error: 'invalid_grant', description: 'the subject is refused' })
    await expectJsonError(await postForm(tokenUrl(), { grant_type: testGrantType }, { authorization }), { status: 400, error: 'invalid_request', description: "missing required parameter 'subject'" })
    await expectJsonError(await postForm(tokenUrl(), { grant_type: testGrantType, subject: ['a', 'b'] }, { authorization }), {
      status: 400,
      error: 'invalid_request',
      description: "'subject' parameter must not be provided more than once",
    })
  })

  it('still refuses a grant type nobody registered: unsupported_grant_type', async () => {
    const response = await postForm(tokenUrl(), { grant_type: 'urn:example:unregistered', subject: 'alice' }, { authorization: basic(client.client_id, client.client_secret) })
    await expectJsonError(response, { status: 400, error: 'unsupported_grant_type' })
  })

  it('refuses to register a grant type twice, the built-in ones included', () => {
    assert.throws(() => careid.provider.registerGrant(testGrant([])), /already registered/)
    assert.throws(() => careid.provider.registerGrant({ ...testGrant([]), grantType: 'authorization_code' }), /already registered/)
    assert.deepEqual(careid.provider.grantTypes(), ['authorization_code', 'refresh_token', testGrantType])
  })

  it('counts requests of a registered grant type under its own name in the metrics; an unregistered one is "other"', async () => {
    const text = await careid.metrics()
    const count = (labels: string) => Number(new RegExp(`^careid_token_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
    assert.equal(count(`grant_type="${testGrantType}",result="issued"`), 2)
    assert.equal(count(`grant_type="${testGrantType}",result="invalid_grant"`), 1)
    assert.equal(count(`grant_type="${testGrantType}",result="invalid_client"`), 2)
    assert.equal(count(`grant_type="other",result="unsupported_grant_type"`), 1)
  })

  it("serves a second token endpoint with its own response shape on the provider's client authentication", async () => {
    /** The API Platform's shape: numbers as strings, and a message id. */
    interface PlatformToken {
      access_token: string
      token_type: 'Bearer'
      expires_in: string
      issued_at: string
      message_id: string
    }
    const platform = createTokenEndpoint<PlatformToken>({ authenticateClient: careid.provider.authenticateClient })
    platform.registerGrant({
      grantType: 'client_credentials',
      parameters: [],
      handle: async () => ({ access_token: randomToken(32), token_type: 'Bearer', expires_in: '599', issued_at: '1700000000000', message_id: randomUUID() }),
    })
    const request: TokenRequest = { params: { grant_type: 'client_credentials' }, authorization: basic(client.client_id, client.client_secret) }
    const issued = await platform.handle(request)
    assert.equal(issued.expires_in, '599')
    assert.match(issued.message_id, /^[0-9a-f-]{36}$/)
    await assert.rejects(platform.handle({ ...request, authorization: basic(client.client_id, 'wrong') }), (e) => e instanceof InvalidClient && e.status === 401)
    await assert.rejects(platform.handle({ ...request, params: { grant_type: testGrantType, subject: 'x' } }), (e) => e instanceof UnsupportedGrantType && e.error === 'unsupported_grant_type')
    assert.deepEqual(platform.grantTypes(), ['client_credentials'])
  })
})
