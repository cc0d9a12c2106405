/**
 * When the SSO session may answer an authorization request without a new sign-in. Each reason is
 * checked on its own, then the order in which they are tried.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { SessionRecord } from '@careid/ports'
import type { AuthorizationRequest, Prompt } from '../src/authorization_request.ts'
import type { Acr } from '../src/acr.ts'
import { loginReason } from '../src/login_policy.ts'

const now = 1_750_000_000_000
const minute = 60_000

function session(changes: Partial<SessionRecord> = {}): SessionRecord {
  return {
    session_hash: 'h',
    sid: 'sid-1',
    sub: '555254239107',
    amr: ['TOTP'],
    aal: 2,
    auth_time: now - 10 * minute,
    created_at: now - 10 * minute,
    last_seen_at: now - minute,
    expires_at: now + 60 * minute,
    idle_expires_at: now + 20 * minute,
    clients: [],
    ...changes,
  }
}

function request(changes: { prompt?: Prompt[]; max_age?: number; acr_values?: Acr[]; id_token_hint_sub?: string } = {}): AuthorizationRequest {
  return {
    client: {
      client_id: '111111111111.apps.national',
      client_name: 'Test app',
      redirect_uris: ['https://rp.example/cb'],
      post_logout_redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      refresh_tokens: false,
      created_at: 0,
    },
    redirect_uri: 'https://rp.example/cb',
    redirect_uri_given: true,
    scopes: ['openid'],
    prompt: new Set(changes.prompt ?? []),
    max_age: changes.max_age,
    acr_values: changes.acr_values ?? ['AAL2_OR_AAL3_ANY'],
    id_token_hint_sub: changes.id_token_hint_sub,
    ui_locales: [],
  }
}

describe('loginReason', () => {
  it('lets a matching session answer', () => {
    assert.equal(loginReason(request(), session(), now), undefined)
  })

  it('no_session: there is no session', () => {
    assert.equal(loginReason(request(), undefined, now), 'no_session')
  })

  it('prompt_login: the client asked for a new sign-in', () => {
    assert.equal(loginReason(request({ prompt: ['login'] }), session(), now), 'prompt_login')
    assert.equal(loginReason(request({ prompt: ['none'] }), session(), now), undefined, 'prompt=none alone does not force a sign-in')
  })

  it('max_age: the sign-in is older than max_age seconds', () => {
    // auth_time is 10 minutes ago.
    assert.equal(loginReason(request({ max_age: 300 }), session(), now), 'max_age')
    assert.equal(loginReason(request({ max_age: 600 }), session(), now), undefined, 'exactly max_age old is still within it')
    assert.equal(loginReason(request({ max_age: 601 }), session(), now), undefined)
    assert.equal(loginReason(request({ max_age: 0 }), session({ auth_time: now - 1 }), now), 'max_age', 'max_age=0 asks for a new sign-in once any time has passed')
  })

  it('acr_not_met: the session is weaker than, or another method than, what was asked for (step-up)', () => {
    assert.equal(loginReason(request({ acr_values: ['AAL3_ANY'] }), session(), now), 'acr_not_met')
    assert.equal(loginReason(request({ acr_values: ['AAL2_TOTP'] }), session({ amr: ['USERPASS'], aal: 1 }), now), 'acr_not_met')
    assert.equal(loginReason(request({ acr_values: ['AAL3_ANY', 'AAL2_TOTP'] }), session(), now), undefined, 'any requested class will do')
    assert.equal(loginReason(request({ acr_values: ['AAL2_OR_AAL3_ANY'] }), session({ amr: ['N3_SMARTCARD'], aal: 3 }), now), undefined)
  })

  it('different_user: id_token_hint names someone else', () => {
    assert.equal(loginReason(request({ id_token_hint_sub: '555260118104' }), session(), now), 'different_user')
    assert.equal(loginReason(request({ id_token_hint_sub: '555254239107' }), session(), now), undefined)
  })

  it('tries the reasons in order: prompt, then max_age, then acr, then the hinted user', () => {
    const all = request({ prompt: ['login'], max_age: 1, acr_values: ['AAL3_ANY'], id_token_hint_sub: 'someone-else' })
    assert.equal(loginReason(all, undefined, now), 'no_session')
    assert.equal(loginReason(all, session(), now), 'prompt_login')
    assert.equal(loginReason(request({ max_age: 1, acr_values: ['AAL3_ANY'], id_token_hint_sub: 'someone-else' }), session(), now), 'max_age')
    assert.equal(loginReason(request({ acr_values: ['AAL3_ANY'], id_token_hint_sub: 'someone-else' }), session(), now), 'acr_not_met')
  })
})
