/**
 * Discovery: CIS2's endpoint paths built from the issuer string verbatim, so an explicit `:443`
 * survives into every advertised URL (cis2.md 1.1: RPs "match it exactly"), and a document that
 * lists exactly what Careid supports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { acrValuesSupported } from '../src/acr.ts'
import { discoveryDocument, endpointsOf } from '../src/discovery.ts'

const issuer = 'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'

describe('endpointsOf', () => {
  it('builds every endpoint from the issuer verbatim, :443 included', () => {
    assert.deepEqual(endpointsOf(issuer), {
      authorization: `${issuer}/authorize`,
      token: `${issuer}/access_token`,
      userinfo: `${issuer}/userinfo`,
      jwks: `${issuer}/connect/jwk_uri`,
      endSession: `${issuer}/connect/endSession`,
      revocation: `${issuer}/token/revoke`,
      introspection: `${issuer}/introspect`,
      discovery: `${issuer}/.well-known/openid-configuration`,
    })
    assert.equal(
      endpointsOf(issuer).token,
      'https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare/access_token',
      'the token endpoint is the aud of client assertions, so it must keep the port',
    )
  })

  it('keeps a local issuer as given too', () => {
    assert.equal(endpointsOf('http://localhost:8080/x').jwks, 'http://localhost:8080/x/connect/jwk_uri')
  })
})

describe('discoveryDocument', () => {
  const doc = discoveryDocument(issuer, 'RS256')
  const json = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>

  it('advertises the issuer and endpoints verbatim, and survives JSON unchanged', () => {
    assert.equal(json.issuer, issuer)
    assert.equal(json.authorization_endpoint, `${issuer}/authorize`)
    assert.equal(json.token_endpoint, `${issuer}/access_token`)
    assert.equal(json.userinfo_endpoint, `${issuer}/userinfo`)
    assert.equal(json.jwks_uri, `${issuer}/connect/jwk_uri`)
    assert.equal(json.end_session_endpoint, `${issuer}/connect/endSession`)
    assert.equal(json.revocation_endpoint, `${issuer}/token/revoke`)
    assert.equal(json.introspection_endpoint, `${issuer}/introspect`)
    for (const [key, value] of Object.entries(json)) {
      if (key.endsWith('_endpoint') || key === 'jwks_uri') assert.ok((value as string).startsWith(`${issuer}/`), key)
    }
  })

  it('offers the code flow only, with S256 PKCE and query responses', () => {
    assert.deepEqual(json.response_types_supported, ['code'])
    assert.deepEqual(json.response_modes_supported, ['query'])
    assert.deepEqual(json.code_challenge_methods_supported, ['S256'])
    assert.ok((json.grant_types_supported as string[]).includes('authorization_code'))
    assert.equal((json.grant_types_supported as string[]).includes('implicit'), false)
  })

  it('names the ID token algorithm it was given, and CIS2 ACRs and scopes', () => {
    assert.deepEqual(json.id_token_signing_alg_values_supported, ['RS256'])
    assert.deepEqual(discoveryDocument(issuer, 'PS256').id_token_signing_alg_values_supported, ['PS256'])
    assert.deepEqual(json.acr_values_supported, [...acrValuesSupported])
    for (const scope of ['openid', 'profile', 'email', 'nhsperson', 'nationalrbacaccess', 'associatedorgs', 'selectedrole']) {
      assert.ok((json.scopes_supported as string[]).includes(scope), scope)
    }
    for (const claim of ['sid', 'acr', 'amr', 'selected_roleid', 'nhsid_nrbac_roles', 'authentication_assurance_level']) {
      assert.ok((json.claims_supported as string[]).includes(claim), claim)
    }
  })

  it('says what it does not support', () => {
    assert.equal(json.request_parameter_supported, false)
    assert.equal(json.request_uri_parameter_supported, false)
    assert.equal(json.claims_parameter_supported, false)
    assert.equal(json.frontchannel_logout_supported, false)
    assert.deepEqual(json.prompt_values_supported, ['none', 'login'])
  })

  it('advertises back-channel logout with sid, RFC 9207 iss, and its client authentication', () => {
    assert.equal(json.backchannel_logout_supported, true)
    assert.equal(json.backchannel_logout_session_supported, true)
    assert.equal(json.authorization_response_iss_parameter_supported, true)
    assert.ok((json.token_endpoint_auth_methods_supported as string[]).includes('client_secret_post'))
    assert.ok((json.token_endpoint_auth_methods_supported as string[]).includes('private_key_jwt'))
    assert.ok((json.token_endpoint_auth_signing_alg_values_supported as string[]).includes('RS512'))
    assert.deepEqual(json.subject_types_supported, ['public'])
  })
})
