/**
 * /authorize answers from an SSO session only if the session is still live and unlocked when the
 * code is issued: a card removal (lock) or a logout that lands while the request is being answered
 * (here: while the person is read) issues nothing. With prompt=none that is `login_required`;
 * otherwise the person is sent to sign in.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { demoWorkforce } from '@careid/domain'
import type { Json, Store } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import { authorize, type AuthorizeOutcome } from '../src/authorize.ts'
import { registerClient } from '../src/client_registration.ts'
import { createClientRegistry } from '../src/clients.ts'
import { defaultConfig } from '../src/config.ts'
import { createSessionService, type SessionService } from '../src/sessions.ts'

const issuer = 'https://careid.example.test/oidc'
const redirect_uri = 'https://rp.example.test/callback'
const person = demoWorkforce.find((p) => p.username === 'dr.hughes')
const binding = 'card-session-1'

describe('authorize issues a code only from a session still live when the code is issued', () => {
  let store: Store
  let clientId: string

  before(async () => {
    store = await openSqliteStore({ path: ':memory:' })
    assert.ok(person)
    await store.people.put(person.uid, person.username, person as unknown as Json)
    const { client } = registerClient({ client_name: 'Test app', redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' }, Date.now())
    await store.clients.put(client)
    clientId = client.client_id
  })
  after(async () => {
    await store?.close()
  })

  /**
   * A card sign-in's session, and /authorize for it where `meanwhile` happens as the person is
   * read (after the session was looked up, before the code is issued).
   */
  async function authorizeWhile(meanwhile: (sessions: SessionService, sid: string) => Promise<unknown>, prompt?: string) {
    let sessions: SessionService | undefined
    let sid = ''
    const racing: Store = {
      ...store,
      people: {
        ...store.people,
        get: async (uid) => {
          await meanwhile(sessions as SessionService, sid)
          return store.people.get(uid)
        },
      },
    }
    const config = defaultConfig(issuer)
    const clients = createClientRegistry(store.clients, Date.now)
    sessions = createSessionService({ store: racing, clients, config, now: Date.now })
    const started = await sessions.start({ sub: person?.uid as string, amr: ['N3_SMARTCARD'], aal: 3, auth_time: Date.now(), binding })
    sid = started.session.sid
    const params: Record<string, string> = { response_type: 'code', client_id: clientId, redirect_uri, scope: 'openid', acr_values: 'AAL3_ANY', state: 'st' }
    if (prompt !== undefined) params.prompt = prompt
    const outcome = await authorize({ store: racing, clients, sessions, config, now: Date.now, hintSubject: () => undefined }, { params, sessionSecret: started.secret, browserSecret: 'b'.repeat(43) })
    return { outcome, sid }
  }

  function callback(outcome: AuthorizeOutcome): URLSearchParams {
    assert.equal(outcome.type, 'redirect')
    const url = new URL((outcome as { location: string }).location)
    assert.equal(`${url.origin}${url.pathname}`, redirect_uri)
    return url.searchParams
  }

  it('answers with a code when nothing happens meanwhile', async () => {
    const { outcome, sid } = await authorizeWhile(async () => undefined, 'none')
    assert.ok(callback(outcome).get('code'))
    assert.deepEqual((await store.sessions.getBySid(sid))?.clients, [clientId])
  })

  it('a session locked meanwhile (card removed): prompt=none gets login_required, and the client does not join the session', async () => {
    const { outcome, sid } = await authorizeWhile((sessions) => sessions.lockByBinding(binding), 'none')
    const params = callback(outcome)
    assert.equal(params.get('error'), 'login_required')
    assert.equal(params.get('code'), null)
    assert.equal(params.get('state'), 'st')
    assert.deepEqual((await store.sessions.getBySid(sid))?.clients, [])
  })

  it('a session locked meanwhile, without prompt=none: no code, the person is sent to sign in', async () => {
    const { outcome } = await authorizeWhile((sessions) => sessions.lockByBinding(binding))
    assert.equal(outcome.type, 'interaction')
    const record = await store.interactions.get((outcome as { interactionId: string }).interactionId, Date.now())
    assert.equal(record?.payload.stage, 'login')
  })

  it('a session ended meanwhile (logout): prompt=none gets login_required', async () => {
    const { outcome, sid } = await authorizeWhile((sessions, ending) => sessions.endBySid(ending, 'logout'), 'none')
    assert.equal(callback(outcome).get('error'), 'login_required')
    assert.equal(await store.sessions.getBySid(sid), undefined)
  })
})
