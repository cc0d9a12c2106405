import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sha256 } from '@careid/oidc'
import { assertRefusal, callback, codeForm, grantOfAccess, openPostgres, openSqlite, pdsAal3, platformCode, postgresUnavailable, startPlatform, worker, type Platform, type TestApplication } from './support/token_endpoint.ts'

const noPostgres = await postgresUnavailable()
if (noPostgres !== undefined) it('the authorization code on postgres', { skip: noPostgres }, () => {})

for (const backend of noPostgres === undefined ? ['sqlite', 'postgres'] : ['sqlite']) describe(`the platform token endpoint: the combined pattern's authorization code (cis2.md 6.2 step 4), on ${backend}`, () => {
  let platform: Platform
  let app: TestApplication
  let other: TestApplication
  before(async () => {
    platform = await startPlatform('int', undefined, backend === 'postgres' ? await openPostgres() : await openSqlite())
    app = await platform.application([pdsAal3])
    other = await platform.application([pdsAal3])
  })
  after(async () => platform.close())

  it('redeems the platform\'s code for string-typed tokens, the CIS2 sid, and a grant holding what the code carried', async () => {
    const code = await platformCode(platform, app)
    const response = await platform.post(codeForm(app, code))
    assert.equal(response.status, 200)
    assert.equal(response.headers['cache-control'], 'no-store')
    const { access_token: accessToken, refresh_token: refreshToken, ...rest } = response.body
    assert.deepStrictEqual(rest, { expires_in: '599', refresh_token_expires_in: '43199', refresh_count: '0', token_type: 'Bearer', sid: 'cis2-session-1' })
    assert.match(String(accessToken), /^[A-Za-z0-9_-]{43}$/)
    assert.match(String(refreshToken), /^[A-Za-z0-9_-]{43}$/)
    assert.notEqual(accessToken, refreshToken)

    const found = await grantOfAccess(platform, String(accessToken))
    assert.ok(found)
    assert.equal(found.token.token_hash, sha256(String(accessToken)))
    assert.equal(found.token.expires_at, platform.clock.now + 600_000)
    assert.deepStrictEqual(
      { api_key: found.grant.api_key, pattern: found.grant.pattern, scope: found.grant.scope, user: found.grant.user, sealed: found.grant.cis2_access_token_sealed },
      { api_key: app.apiKey, pattern: 'combined', scope: pdsAal3, user: worker, sealed: 'sealed-cis2-access-token' },
    )
    // Refreshing ends 12 hours after the grant's first token, as the platform counts it; the grant
    // keeps when the worker signed in at CIS2.
    assert.equal(found.grant.refresh_until, platform.clock.now + 43_200_000)
    assert.equal(found.grant.authenticated_at, platform.clock.now - 20_000)
    const refresh = await platform.store.apiGrants.findRefresh(sha256(String(refreshToken)), platform.clock.now)
    assert.equal(refresh?.token.expires_at, found.grant.refresh_until)
  })

  it('refuses a missing client_id with 401 invalid_request "client_id is missing"', async () => {
    const code = await platformCode(platform, app)
    assertRefusal(await platform.post(codeForm(app, code, { client_id: undefined })), 401, 'invalid_request', 'client_id is missing')
    assert.equal((await platform.post(codeForm(app, code))).status, 200, 'the refusal left the code unused')
  })

  it('refuses an unknown client_id with 401 invalid_client', async () => {
    const code = await platformCode(platform, app)
    assertRefusal(await platform.post(codeForm(app, code, { client_id: 'UnknownUnknownUnknownUnknown0000' })), 401, 'invalid_client', 'client_id or client_secret is invalid')
    assertRefusal(await platform.post(codeForm(app, code, { client_id: 'UnknownUnknownUnknownUnknown0000', client_secret: undefined })), 401, 'invalid_client', 'client_id or client_secret is invalid')
  })

  it('refuses a missing client_secret with 401 invalid_request "client_secret is missing"', async () => {
    const code = await platformCode(platform, app)
    assertRefusal(await platform.post(codeForm(app, code, { client_secret: undefined })), 401, 'invalid_request', 'client_secret is missing')
  })

  it('refuses a wrong client_secret, or another application\'s, with 401 invalid_client', async () => {
    const code = await platformCode(platform, app)
    assertRefusal(await platform.post(codeForm(app, code, { client_secret: `${app.secret}x` })), 401, 'invalid_client', 'client_id or client_secret is invalid')
    assertRefusal(await platform.post(codeForm(app, code, { client_secret: other.secret })), 401, 'invalid_client', 'client_id or client_secret is invalid')
    assert.equal((await platform.post(codeForm(app, code))).status, 200, 'the refusals left the code unused')
  })

  it('refuses a missing redirect_uri with 400 "redirect_uri is missing"', async () => {
    const code = await platformCode(platform, app)
    assertRefusal(await platform.post(codeForm(app, code, { redirect_uri: undefined })), 400, 'invalid_request', 'redirect_uri is missing')
  })

  it('refuses a redirect_uri that is not the application\'s callback with 400 "redirect_uri is invalid"', async () => {
    const code = await platformCode(platform, app)
    assertRefusal(await platform.post(codeForm(app, code, { redirect_uri: 'https://evil.example/callback' })), 400, 'invalid_request', 'redirect_uri is invalid')
    assert.equal((await platform.post(codeForm(app, code))).status, 200, 'the refusal left the code unused')
  })

  it('refuses a missing code with 400 "authorization_code is missing"', async () => {
    assertRefusal(await platform.post(codeForm(app, undefined)), 400, 'invalid_request', 'authorization_code is missing')
  })

  it('refuses an unknown code with 400 invalid_grant "authorization_code is invalid"', async () => {
    assertRefusal(await platform.post(codeForm(app, 'not-a-code')), 400, 'invalid_grant', 'authorization_code is invalid')
  })

  it('redeems a code once: a reused code is invalid_grant, and the first grant stands', async () => {
    const code = await platformCode(platform, app)
    const first = await platform.post(codeForm(app, code))
    assert.equal(first.status, 200)
    assertRefusal(await platform.post(codeForm(app, code)), 400, 'invalid_grant', 'authorization_code is invalid')
    assert.ok(await grantOfAccess(platform, String(first.body.access_token)), 'a reused code revokes nothing more')
  })

  it('of 10 concurrent redemptions of one code, exactly one succeeds', async () => {
    const code = await platformCode(platform, app)
    const responses = await Promise.all(Array.from({ length: 10 }, () => platform.post(codeForm(app, code))))
    assert.deepStrictEqual(responses.map((r) => r.status).sort(), [200, 400, 400, 400, 400, 400, 400, 400, 400, 400])
    for (const response of responses.filter((r) => r.status === 400)) assertRefusal(response, 400, 'invalid_grant', 'authorization_code is invalid')
  })

  it('refuses an expired code', async () => {
    const code = await platformCode(platform, app)
    platform.clock.now += 60_001
    assertRefusal(await platform.post(codeForm(app, code)), 400, 'invalid_grant', 'authorization_code is invalid')
  })

  it('refuses another application\'s code, even with that application\'s own valid credentials', async () => {
    const code = await platformCode(platform, app)
    assertRefusal(await platform.post(codeForm(other, code)), 400, 'invalid_grant', 'authorization_code is invalid')
  })

  it('refuses a code issued for another of the application\'s callbacks', async () => {
    const code = await platformCode(platform, app, {}, 'https://ward.example/other-callback')
    assertRefusal(await platform.post(codeForm(app, code, { redirect_uri: callback })), 400, 'invalid_grant', 'authorization_code is invalid')
  })

  it('shortens the access token when the request asks with _access_token_expiry_ms, and never lengthens it', async () => {
    const short = await platform.post(codeForm(app, await platformCode(platform, app), { _access_token_expiry_ms: '100000' }))
    assert.equal(short.body.expires_in, '99')
    assert.equal((await grantOfAccess(platform, String(short.body.access_token)))?.token.expires_at, platform.clock.now + 100_000)
    const long = await platform.post(codeForm(app, await platformCode(platform, app), { _access_token_expiry_ms: '700000' }))
    assert.equal(long.body.expires_in, '599')
    const junk = await platform.post(codeForm(app, await platformCode(platform, app), { _access_token_expiry_ms: 'soon' }))
    assert.equal(junk.body.expires_in, '599')
  })

  it('honours the reductions /authorize recorded in the code, the least of them winning', async () => {
    const code = await platformCode(platform, app, { reductions: { access_token_expiry_ms: 50_000, refresh_tokens_validity_ms: 60_000 } })
    const response = await platform.post(codeForm(app, code, { _access_token_expiry_ms: '80000' }))
    assert.equal(response.body.expires_in, '49')
    const found = await grantOfAccess(platform, String(response.body.access_token))
    assert.equal(found?.grant.refresh_until, platform.clock.now + 60_000)
    // The refresh token lives only until the shortened period's end.
    assert.equal(response.body.refresh_token_expires_in, '59')
  })
})

describe('the platform token endpoint in live: no request shortens a token', () => {
  let platform: Platform
  let app: TestApplication
  before(async () => {
    platform = await startPlatform('live')
    app = await platform.application([pdsAal3])
  })
  after(async () => platform.close())

  it('ignores _access_token_expiry_ms, _refresh_tokens_validity_ms and the code\'s reductions', async () => {
    const code = await platformCode(platform, app, { reductions: { access_token_expiry_ms: 50_000, refresh_tokens_validity_ms: 0 } })
    const response = await platform.post(codeForm(app, code, { _access_token_expiry_ms: '1000', _refresh_tokens_validity_ms: '0' }))
    assert.equal(response.status, 200)
    assert.equal(response.body.expires_in, '599')
    assert.equal(response.body.refresh_token_expires_in, '43199')
    const refreshed = await platform.post({ grant_type: 'refresh_token', refresh_token: String(response.body.refresh_token), client_id: app.apiKey, client_secret: app.secret, _refresh_tokens_validity_ms: '0', _access_token_expiry_ms: '1000' })
    assert.equal(refreshed.status, 200)
    assert.equal(refreshed.body.expires_in, '599')
  })
})
