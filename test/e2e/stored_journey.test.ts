/**
 * A sign-in journey and a code as the store keeps them between requests: one written by the
 * previous version goes on after an upgrade, and one that does not read back (corrupted) ends in
 * the precise refusal (the expired-journey page, `invalid_grant`), never a server error.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Json } from '@careid/ports'
import { Browser, form, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { expectErrorPage, expectJsonError } from '../support/refusals.ts'
import { authorizationUrl, postForm, singleRolePassword, singleRolePerson, type CodeClient } from '../support/sso_codes.ts'

describe('a journey or a code as stored', () => {
  let careid: TestCareid
  let rp: CodeClient & { client_secret: string }

  before(async () => {
    careid = await startTestCareid()
    const { client_id, client_secret } = await careid.addClient({ redirect_uris: ['https://rp.example.test/callback'], token_endpoint_auth_method: 'client_secret_post' })
    rp = { client_id, client_secret: client_secret as string, redirect_uri: 'https://rp.example.test/callback' }
  })
  after(async () => {
    await careid?.close()
  })

  /** A password-only journey at its password page; its interaction id and stored payload. */
  async function startJourney(b: Browser): Promise<{ page: PageResult; id: string; payload: { [key: string]: Json } }> {
    const landing = await b.go(authorizationUrl(careid, { response_type: 'code', client_id: rp.client_id, redirect_uri: rp.redirect_uri, scope: 'openid', acr_values: 'AAL1_USERPASS', state: 'st-1' }))
    assert.ok(landing.page !== undefined && landing.page.status === 200)
    const id = new URL(landing.page.url).pathname.split('/').pop() as string
    const record = await careid.context.store.interactions.get(id, Date.now())
    assert.ok(record)
    return { page: landing.page, id, payload: record.payload }
  }

  async function replacePayload(id: string, payload: { [key: string]: Json }): Promise<void> {
    const record = await careid.context.store.interactions.get(id, Date.now())
    assert.ok(record)
    await careid.context.store.interactions.put({ ...record, payload })
  }

  it('goes on with a journey the previous version stored, at a failed password step', async () => {
    const b = new Browser(careid.origin)
    const { page, id, payload } = await startJourney(b)
    // Exactly what the previous version wrote after a wrong password: the request with its absent
    // values as null, and the step's view with the username put back.
    await replacePayload(id, {
      request: {
        client_id: rp.client_id,
        redirect_uri: rp.redirect_uri,
        redirect_uri_given: true,
        state: 'st-1',
        scopes: ['openid'],
        nonce: null,
        code_challenge: null,
        prompt: [],
        max_age: null,
        acr_values: ['AAL1_USERPASS'],
        login_hint: null,
        id_token_hint_sub: null,
        ui_locales: [],
      },
      browser: payload.browser as string,
      csrf: payload.csrf as string,
      stage: 'login',
      session: null,
      method: 'password',
      auth_state: { step: 'password' },
      view: { page: 'password', values: { username: singleRolePerson.username }, error: 'invalid_credentials' },
    })

    const shown = await b.go(page.url)
    assert.equal(shown.page?.status, 200)
    assert.ok(shown.page?.html.includes('Enter a correct username and password'), 'the stored error is shown')
    assert.ok(shown.page?.html.includes(`value="${singleRolePerson.username}"`), 'the stored username is put back')

    const f = form(shown.page as PageResult, '/authenticate')
    const done = await b.go(f.action, { form: { ...f.fields, username: singleRolePerson.username, password: singleRolePassword } })
    assert.ok(done.location !== undefined && done.location.startsWith(`${rp.redirect_uri}?`), `signed in and sent back: ${done.location ?? done.page?.status}`)
    const back = new URL(done.location)
    assert.equal(back.searchParams.get('state'), 'st-1')
    const code = back.searchParams.get('code')
    assert.ok(code)
    const token = await postForm(careid.provider.endpoints.token, { grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, client_id: rp.client_id, client_secret: rp.client_secret })
    assert.equal(token.status, 200)
    assert.equal(((await token.json()) as { token_type: string }).token_type, 'Bearer')
  })

  it('shows the expired-journey page (400), not a server error, for a stored journey that does not read back', async () => {
    const corruptions: Array<(payload: { [key: string]: Json }) => { [key: string]: Json }> = [
      (p) => ({ ...p, request: { ...(p.request as { [key: string]: Json }), prompt: 5 } }),
      (p) => ({ ...p, request: { ...(p.request as { [key: string]: Json }), acr_values: 'AAL1_USERPASS' } }),
      (p) => ({ ...p, request: { ...(p.request as { [key: string]: Json }), scopes: null } }),
      (p) => ({ ...p, view: 'password' }),
      (p) => ({ ...p, view: { page: 'passkey' } }),
      (p) => ({ ...p, view: { page: 'password', data: { locked_minutes: 'soon' } } }),
      (p) => ({ ...p, stage: 'consent' }),
      (p) => ({ ...p, csrf: 42 }),
    ]
    for (const corrupt of corruptions) {
      const b = new Browser(careid.origin)
      const { page, id, payload } = await startJourney(b)
      const f = form(page, '/authenticate')
      await replacePayload(id, corrupt(payload))
      const secrets = [singleRolePassword]
      await expectErrorPage(await b.fetch(page.url), { status: 400, error: 'invalid_request' })
      const posted = await b.fetch(f.action, { form: { ...f.fields, username: singleRolePerson.username, password: singleRolePassword } })
      assert.deepEqual(posted.headers.getSetCookie(), [], 'no session cookie')
      await expectErrorPage(posted, { status: 400, error: 'invalid_request', secrets })
    }
  })

  it('refuses a code whose stored payload does not read back as invalid_grant (400), not a server error', async () => {
    const code = randomBytes(32).toString('base64url')
    await careid.context.store.codes.save({
      code_hash: createHash('sha256').update(code).digest('base64url'),
      client_id: rp.client_id,
      redirect_uri: rp.redirect_uri,
      grant_id: randomBytes(16).toString('base64url'),
      expires_at: Date.now() + 60_000,
      payload: { redirect_uri_given: true, scopes: 'openid' },
    })
    const response = await postForm(careid.provider.endpoints.token, { grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, client_id: rp.client_id, client_secret: rp.client_secret })
    await expectJsonError(response, { status: 400, error: 'invalid_grant', description: 'The provided access grant is invalid, expired, or revoked.', secrets: [code] })
  })
})
