/**
 * The OpenID Foundation's Config OP plan (oidcc-config-certification-test-plan): its one module,
 * the discovery document checked as the suite checks it. Careid is run twice: on its default
 * issuer, where discovery is fetched from the issuer's own URL, and on a CIS2-shaped issuer with an
 * explicit `:443`, which must survive verbatim (cis2.md 1.1) in discovery, in the authorization
 * response's `iss` and in the ID token's `iss`.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { importJWK, type JWK } from 'jose'
import { Browser } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { addRp, authRequest, codeFlow, fetchJwks, reachable } from '../support/conformance.ts'

const wellKnown = '/.well-known/openid-configuration'
/** Reached at the test instance's own origin: the issuer is only a string Careid says and signs. */
const cis2Issuer = 'https://idp.example.test:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'

const endpointNames = ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint', 'revocation_endpoint', 'introspection_endpoint'] as const

async function discovery(url: string): Promise<{ text: string; doc: Record<string, unknown> }> {
  const response = await fetch(url)
  assert.equal(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/)
  const text = await response.text()
  return { text, doc: JSON.parse(text) as Record<string, unknown> }
}

/** What the suite checks of every discovery document, for an instance at `careid`. */
async function verifyDocument(careid: TestCareid, doc: Record<string, unknown>): Promise<void> {
  for (const name of endpointNames) {
    assert.equal(typeof doc[name], 'string', `${name} is advertised`)
    assert.ok((doc[name] as string).startsWith(`${careid.issuer}/`), `${name} is under the issuer`)
  }
  const jwks = await fetchJwks(reachable(careid, doc.jwks_uri as string))
  assert.ok(jwks.keys.length > 0, 'the JWKS has keys')
  assert.equal(new Set(jwks.keys.map((k) => k.kid)).size, jwks.keys.length, 'kids are unique')
  for (const key of jwks.keys) {
    assert.equal(key.kty, 'RSA')
    assert.equal(typeof key.kid, 'string')
    assert.equal(key.alg, 'RS256')
    assert.equal(key.use, 'sig')
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(secret in key, false, `no private member ${secret}`)
    await importJWK(key as JWK, 'RS256')
  }
  assert.ok((doc.scopes_supported as string[]).includes('openid'))
  assert.deepEqual(doc.response_types_supported, ['code'], 'CIS2 supports the code flow only')
  assert.ok(Array.isArray(doc.subject_types_supported) && doc.subject_types_supported.length > 0)
  for (const type of doc.subject_types_supported as string[]) assert.ok(['public', 'pairwise'].includes(type), type)
  const algs = doc.id_token_signing_alg_values_supported as string[]
  assert.ok(algs.includes('RS256'), 'RS256, the default, is supported')
  assert.equal(algs.includes('none'), false)
  assert.equal(doc.claims_parameter_supported, false, 'the claims parameter is ignored, and says so')
  // The Basic plan's client authentication, and what the request-object modules expect to be told.
  assert.ok((doc.token_endpoint_auth_methods_supported as string[]).includes('client_secret_basic'))
  assert.equal(doc.request_parameter_supported, false)
  assert.equal(doc.request_uri_parameter_supported, false)
}

describe('OpenID conformance: Config OP plan', () => {
  let careid: TestCareid
  let cis2: TestCareid

  before(async () => {
    careid = await startTestCareid()
    cis2 = await startTestCareid({ issuer: () => cis2Issuer })
  })
  after(async () => {
    await careid.close()
    await cis2.close()
  })

  it('oidcc-discovery-endpoint-verification', async () => {
    const url = `${careid.issuer}${wellKnown}`
    const { doc } = await discovery(url)
    assert.equal(doc.issuer, url.slice(0, -wellKnown.length), 'the issuer is the URL discovery was fetched from, minus the suffix')
    await verifyDocument(careid, doc)

    // The CIS2 issuer: byte for byte, :443 included, and https everywhere.
    const cis2Discovery = await discovery(reachable(cis2, `${cis2Issuer}${wellKnown}`))
    assert.equal(cis2Discovery.doc.issuer, cis2Issuer)
    assert.ok(cis2Discovery.text.includes('"issuer":"https://idp.example.test:443/openam/'), 'the explicit port is in the document as written')
    await verifyDocument(cis2, cis2Discovery.doc)
    for (const name of endpointNames) assert.ok((cis2Discovery.doc[name] as string).startsWith('https://idp.example.test:443/'), name)

    // And in what Careid signs. The session cookie is Secure under an https issuer; the scripted
    // browser sends cookies whatever their attributes, so the sign-in runs over plain http here.
    const rp = await addRp(cis2)
    const { tokens, claims } = await codeFlow(cis2, new Browser(cis2.origin), rp, authRequest(rp))
    assert.equal(claims.iss, cis2Issuer)
    const payload = Buffer.from(tokens.id_token.split('.')[1] as string, 'base64url').toString('utf8')
    assert.ok(payload.includes(`"iss":"${cis2Issuer}"`), 'the ID token carries the issuer as written')
  })
})
