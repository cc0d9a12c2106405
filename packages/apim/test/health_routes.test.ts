/** `GET /oauth2/_ping` (cis2.md 6.7) and `GET /oauth2/_status` (the platform's monitoring endpoint), with their shapes and refusals. */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { errorOf, startTestPlatform, statusApiKey, type TestPlatform } from './support/platform.ts'

describe('the platform\'s health endpoints', () => {
  let platform: TestPlatform
  before(async () => {
    platform = await startTestPlatform()
  })
  after(async () => platform.close())

  it('/oauth2/_ping: 200 with exactly version, revision, releaseId and commitId', async () => {
    const response = await fetch(`${platform.origin}/oauth2/_ping`)
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { version: '0.1.0', revision: '0.1.0', releaseId: 'careid-0.1.0', commitId: 'unknown' })
  })

  it('/oauth2/_status without the monitoring key: 401 "Access Denied" "Invalid api key for _status monitoring endpoint"', async () => {
    const response = await fetch(`${platform.origin}/oauth2/_status`, { headers: { invalid: 'invalid' } })
    assert.equal(response.status, 401)
    assert.deepEqual(await errorOf(response), { error: 'Access Denied', error_description: 'Invalid api key for _status monitoring endpoint' })
  })

  it('/oauth2/_status with a wrong monitoring key: 401 "Access Denied" "Invalid api key for _status monitoring endpoint"', async () => {
    const response = await fetch(`${platform.origin}/oauth2/_status`, { headers: { apikey: 'invalid' } })
    assert.equal(response.status, 401)
    assert.deepEqual(await errorOf(response), { error: 'Access Denied', error_description: 'Invalid api key for _status monitoring endpoint' })
  })

  it('/oauth2/_status: pass, in the platform\'s shape, checking CIS2 and the store', async () => {
    const response = await fetch(`${platform.origin}/oauth2/_status`, { headers: { apikey: statusApiKey } })
    assert.equal(response.status, 200)
    const body = (await response.json()) as Record<string, unknown> & { checks: Record<string, Record<string, unknown>> }
    assert.deepEqual(Object.keys(body).sort(), ['checks', 'commitId', 'releaseId', 'revision', 'status', 'version'])
    assert.equal(body.status, 'pass')
    assert.deepEqual(body.checks['nhs-cis2'], {
      status: 'pass',
      timeout: 'false',
      responseCode: 200,
      outcome: await (await fetch(platform.cis2.settings.jwksUri)).json(),
      links: { self: platform.cis2.settings.jwksUri },
    })
    assert.equal(body.checks.store?.status, 'pass')
    assert.equal(body.checks.store?.timeout, 'false')
  })

  it('/oauth2/_status: warn when CIS2 does not answer and the store does; fail when neither does', async () => {
    const other = await startTestPlatform()
    await other.cis2.close()
    const warn = (await (await fetch(`${other.origin}/oauth2/_status`, { headers: { apikey: statusApiKey } })).json()) as { status: string; checks: Record<string, { status: string; responseCode: unknown }> }
    assert.equal(warn.status, 'warn')
    assert.equal(warn.checks['nhs-cis2']?.status, 'fail')
    assert.equal(warn.checks['nhs-cis2']?.responseCode, null)
    assert.equal(warn.checks.store?.status, 'pass')
    await other.store.close()
    const fail = (await (await fetch(`${other.origin}/oauth2/_status`, { headers: { apikey: statusApiKey } })).json()) as { status: string; checks: Record<string, { status: string }> }
    assert.equal(fail.status, 'fail')
    assert.equal(fail.checks.store?.status, 'fail')
    await other.app.close()
  })
})
