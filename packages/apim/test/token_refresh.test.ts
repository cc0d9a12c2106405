import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { assertRefusal, codeForm, grantOfAccess, openPostgres, openSqlite, pdsAal3, postgresUnavailable, platformCode, refreshForm, startPlatform, tokenExchangeForm, worker, type Platform, type TestApplication } from './support/token_endpoint.ts'

const noPostgres = await postgresUnavailable()
if (noPostgres !== undefined) it('refresh on postgres', { skip: noPostgres }, () => {})

for (const backend of noPostgres === undefined ? ['sqlite', 'postgres'] : ['sqlite']) describe(`the platform token endpoint: refresh (cis2.md 6.2 step 5, 6.7), on ${backend}`, () => {
  let platform: Platform
  let app: TestApplication
  let other: TestApplication
  before(async () => {
    platform = await startPlatform('int', undefined, backend === 'postgres' ? await openPostgres() : await openSqlite())
    app = await platform.application([pdsAal3])
    other = await platform.application([pdsAal3])
  })
  after(async () => platform.close())

  async function signIn(): Promise<{ access: string; refresh: string }> {
    const response = await platform.post(codeForm(app, await platformCode(platform, app)))
    assert.equal(response.status, 200)
    return { access: String(response.body.access_token), refresh: String(response.body.refresh_token) }
  }

  it('exchanges a refresh token for new string-typed tokens, refresh_count rising, without sid', async () => {
    const first = await signIn()
    platform.clock.now += 60_000
    const second = await platform.post(refreshForm(app, first.refresh))
    assert.equal(second.status, 200)
    assert.equal(second.headers['cache-control'], 'no-store')
    const { access_token: access2, refresh_token: refresh2, ...rest } = second.body
    // The refresh token lives until the period's end, 12 hours after the grant's first token.
    assert.deepStrictEqual(rest, { expires_in: '599', refresh_token_expires_in: '43139', refresh_count: '1', token_type: 'Bearer' })
    assert.notEqual(access2, first.access)
    assert.notEqual(refresh2, first.refresh)
    const third = await platform.post(refreshForm(app, String(refresh2)))
    assert.equal(third.body.refresh_count, '2')
    // Same grant, same user.
    const a = await grantOfAccess(platform, first.access)
    const b = await grantOfAccess(platform, String(third.body.access_token))
    assert.equal(a?.grant.grant_id, b?.grant.grant_id)
    assert.equal(b?.token.refresh_count, 2)
  })

  it('uses a refresh token once: again is 401 invalid_grant "refresh_token is invalid"', async () => {
    const { refresh } = await signIn()
    assert.equal((await platform.post(refreshForm(app, refresh))).status, 200)
    assertRefusal(await platform.post(refreshForm(app, refresh)), 401, 'invalid_grant', 'refresh_token is invalid')
  })

  it('of 10 concurrent refreshes of one token, exactly one succeeds', async () => {
    const { refresh } = await signIn()
    const responses = await Promise.all(Array.from({ length: 10 }, () => platform.post(refreshForm(app, refresh))))
    assert.deepStrictEqual(responses.map((r) => r.status).sort(), [200, 401, 401, 401, 401, 401, 401, 401, 401, 401])
    for (const response of responses.filter((r) => r.status === 401)) assertRefusal(response, 401, 'invalid_grant', 'refresh_token is invalid')
  })

  it('refuses an unknown refresh token with 401 invalid_grant "refresh_token is invalid"', async () => {
    assertRefusal(await platform.post(refreshForm(app, 'not-a-refresh-token')), 401, 'invalid_grant', 'refresh_token is invalid')
  })

  it('refuses an access token presented as a refresh token', async () => {
    const { access } = await signIn()
    assertRefusal(await platform.post(refreshForm(app, access)), 401, 'invalid_grant', 'refresh_token is invalid')
  })

  it('refuses another application\'s refresh token, leaving it usable by its own', async () => {
    const { refresh } = await signIn()
    assertRefusal(await platform.post(refreshForm(other, refresh)), 401, 'invalid_grant', 'refresh_token is invalid')
    assert.equal((await platform.post(refreshForm(app, refresh))).status, 200)
  })

  it('refuses a missing refresh_token with 400 "refresh_token is missing"', async () => {
    assertRefusal(await platform.post(refreshForm(app, undefined)), 400, 'invalid_request', 'refresh_token is missing')
  })

  it('authenticates the application first: a missing secret is 401 "client_secret is missing", a wrong one invalid_client', async () => {
    const { refresh } = await signIn()
    assertRefusal(await platform.post(refreshForm(app, refresh, { client_secret: undefined })), 401, 'invalid_request', 'client_secret is missing')
    assertRefusal(await platform.post(refreshForm(app, refresh, { client_id: undefined })), 401, 'invalid_request', 'client_id is missing')
    assertRefusal(await platform.post(refreshForm(app, refresh, { client_secret: 'wrong' })), 401, 'invalid_client', 'client_id or client_secret is invalid')
    assert.equal((await platform.post(refreshForm(app, refresh))).status, 200, 'the refusals left the token unused')
  })

  it('ends refreshing when _refresh_tokens_validity_ms=0 asks: 401 "refresh token refresh period has expired", the token kept', async () => {
    const { refresh } = await signIn()
    platform.clock.now += 1
    assertRefusal(await platform.post(refreshForm(app, refresh, { _refresh_tokens_validity_ms: '0' })), 401, 'invalid_grant', 'refresh token refresh period has expired')
    assert.equal((await platform.post(refreshForm(app, refresh))).status, 200, 'the refusal used nothing')
  })

  it('gives a refresh asking a shorter validity a refresh token that ends with it', async () => {
    const { refresh } = await signIn()
    platform.clock.now += 1_000
    const response = await platform.post(refreshForm(app, refresh, { _refresh_tokens_validity_ms: '5000' }))
    assert.equal(response.status, 200)
    assert.equal(response.body.refresh_token_expires_in, '3')
    platform.clock.now += 4_000
    assertRefusal(await platform.post(refreshForm(app, String(response.body.refresh_token))), 401, 'invalid_grant', 'refresh token refresh period has expired')
  })

  it('refuses to refresh a grant made with _refresh_tokens_validity_ms=0: its period ended as it began', async () => {
    const response = await platform.post(codeForm(app, await platformCode(platform, app), { _refresh_tokens_validity_ms: '0' }))
    assert.equal(response.body.refresh_token_expires_in, '0')
    assertRefusal(await platform.post(refreshForm(app, String(response.body.refresh_token))), 401, 'invalid_grant', 'refresh token refresh period has expired')
  })

  it('ends refreshing 12 hours after the grant\'s first token', async () => {
    const { refresh } = await signIn()
    platform.clock.now += 43_200_000
    assertRefusal(await platform.post(refreshForm(app, refresh)), 401, 'invalid_grant', 'refresh token refresh period has expired')
  })

  it('shortens the new access token when the refresh asks with _access_token_expiry_ms', async () => {
    const { refresh } = await signIn()
    const response = await platform.post(refreshForm(app, refresh, { _access_token_expiry_ms: '4' }))
    assert.equal(response.body.expires_in, '0')
    const access = String(response.body.access_token)
    assert.ok(await grantOfAccess(platform, access))
    platform.clock.now += 4
    assert.equal(await grantOfAccess(platform, access), undefined, 'the access token expired 4 ms after issue')
  })

  it('refuses every token of a grant whose CIS2 session ended', async () => {
    const response = await platform.post(codeForm(app, await platformCode(platform, app, { user: { ...worker, sid: 'cis2-session-ended' } })))
    const refresh = String(response.body.refresh_token)
    assert.equal(await platform.store.apiGrants.revokeBySid('cis2-session-ended', platform.clock.now), 1)
    assertRefusal(await platform.post(refreshForm(app, refresh)), 401, 'invalid_grant', 'refresh_token is invalid')
  })

  it('refreshes a token exchange\'s tokens with the application\'s secret', async () => {
    const exchanged = await platform.post(await tokenExchangeForm(platform, app))
    assert.equal(exchanged.status, 200)
    const response = await platform.post(refreshForm(app, String(exchanged.body.refresh_token)))
    assert.equal(response.status, 200)
    const { access_token: _a, refresh_token: _r, ...rest } = response.body
    assert.deepStrictEqual(rest, { expires_in: '599', refresh_token_expires_in: '43199', refresh_count: '1', token_type: 'Bearer' })
  })
})
