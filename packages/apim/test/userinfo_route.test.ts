/**
 * `GET /oauth2/userinfo` (cis2.md 6.2 step 6): CIS2's userinfo through the platform, with the CIS2
 * access token kept from the sign-in; the platform's 400 for a token of another pattern; its 401
 * for a missing, unknown or expired token.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { ApplicationRecord } from '@careid/ports'
import { aal3, errorOf, issueGrant, startTestPlatform, type TestPlatform } from './support/platform.ts'

const catchAll =
  'An unknown error occurred processing this request. Contact us for assistance diagnosing this issue: https://digital.nhs.uk/developer/help-and-support quoting Message ID'
const wrongAuth =
  'The Userinfo endpoint is only supported for Combined Auth integrations. Currently this is only for NHS CIS2 authentications - for more guidance see https://digital.nhs.uk/developer/guides-and-documentation/security-and-authorisation/user-restricted-restful-apis-nhs-cis2-combined-authentication-and-authorisation'

describe('GET /oauth2/userinfo', () => {
  let platform: TestPlatform
  let app: ApplicationRecord
  before(async () => {
    platform = await startTestPlatform()
    app = await platform.addApp([aal3])
  })
  after(async () => platform.close())

  function userinfo(authorization?: string): Promise<Response> {
    return fetch(`${platform.origin}/oauth2/userinfo`, { headers: authorization === undefined ? {} : { authorization } })
  }

  async function refused(response: Response, status: number, error: string, description: string): Promise<void> {
    assert.equal(response.status, status)
    assert.deepEqual(await errorOf(response), { error, error_description: description })
  }

  it('a combined-pattern token: CIS2\'s userinfo, fetched with the CIS2 access token, answered as CIS2 answered', async () => {
    await issueGrant(platform, { apiKey: app.api_key, pattern: 'combined', tokens: ['combined-token'] })
    const before = platform.cis2.userinfoAuthorizations.length
    const response = await userinfo('Bearer combined-token')
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), platform.cis2.userinfo.body)
    assert.deepEqual(platform.cis2.userinfoAuthorizations.slice(before), ['Bearer cis2-access-token'])
  })

  it('a token of the separate pattern (token exchange): 400 invalid_request with the platform\'s text', async () => {
    await issueGrant(platform, { apiKey: app.api_key, pattern: 'token_exchange', tokens: ['exchanged-token'] })
    await refused(await userinfo('Bearer exchanged-token'), 400, 'invalid_request', wrongAuth)
  })

  it('an application-restricted token: 400 invalid_request with the platform\'s text', async () => {
    await issueGrant(platform, { apiKey: app.api_key, pattern: 'client_credentials', tokens: ['application-token'] })
    await refused(await userinfo('Bearer application-token'), 400, 'invalid_request', wrongAuth)
  })

  it('no token: 401 with the platform\'s catch-all', async () => {
    await refused(await userinfo(), 401, 'unknown_error', catchAll)
  })

  it('an unknown token: 401 with the platform\'s catch-all', async () => {
    await refused(await userinfo('Bearer ThisTokenIsInvalid'), 401, 'unknown_error', catchAll)
  })

  it('an expired token: 401 with the platform\'s catch-all', async () => {
    await issueGrant(platform, { apiKey: app.api_key, pattern: 'combined', tokens: ['expired-token'], accessExpiresAt: Date.now() - 1 })
    await refused(await userinfo('Bearer expired-token'), 401, 'unknown_error', catchAll)
  })
})
