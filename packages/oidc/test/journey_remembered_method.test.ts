/**
 * The sign-in journey remembers the method a browser last signed in with: a request that accepts
 * it among other methods starts it at once, with the choice offered as another way; a request that
 * does not, or a browser that names nothing known, gets the choice as before; going back to the
 * choice stays there for the rest of the journey. Driven through the journey's own functions with
 * the real password and authenticator-app methods over an in-memory store.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { enrolPassword, passwordAuthenticator, totpAuthenticator } from '@careid/authenticators'
import { createDirectory, demoWorkforce } from '@careid/domain'
import { bindAuthenticator, type Json, type Store } from '@careid/ports'
import { openSqliteStore } from '@careid/store/sqlite'
import { authorize } from '../src/authorize.ts'
import { registerClient } from '../src/client_registration.ts'
import { createClientRegistry } from '../src/clients.ts'
import { defaultConfig } from '../src/config.ts'
import { createJourney, type Journey, type JourneyInput, type JourneyOutcome, type JourneyView } from '../src/interaction.ts'
import { createSecretBox } from '../src/keys/secret_box.ts'
import { createSessionService } from '../src/sessions.ts'

const issuer = 'https://careid.example.test/oidc'
const redirect_uri = 'https://rp.example.test/callback'
const worker = demoWorkforce.find((p) => p.username === 'nurse.jones')
const workerPassword = 'a long enough password for the test'

describe('the journey starts with the method this browser last signed in with', () => {
  let store: Store
  let clientId: string
  let journey: Journey
  let begin: (acrValues: string) => Promise<{ interactionId: string; browserSecret: string }>

  before(async () => {
    assert.ok(worker)
    store = await openSqliteStore({ path: ':memory:' })
    await store.people.put(worker.uid, worker.username, worker as unknown as Json)
    await enrolPassword(store, worker.uid, workerPassword, Date.now())
    const { client } = registerClient({ client_name: 'Test app', redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' }, Date.now())
    await store.clients.put(client)
    clientId = client.client_id
    const config = defaultConfig(issuer)
    const clients = createClientRegistry(store.clients, Date.now)
    const sessions = createSessionService({ store, clients, config, now: Date.now })
    const parts = { people: store.people, credentials: store.credentials, rates: store.rates, secrets: createSecretBox(randomBytes(32)) }
    const deps = { store, clients, sessions, config, now: Date.now, hintSubject: () => undefined }
    journey = createJourney({ ...deps, authenticators: [bindAuthenticator(passwordAuthenticator(), parts), bindAuthenticator(totpAuthenticator(), parts)], directory: createDirectory() })
    begin = async (acrValues) => {
      const params = { response_type: 'code', client_id: clientId, redirect_uri, scope: 'openid', acr_values: acrValues, state: 'st' }
      const outcome = await authorize(deps, { params })
      assert.equal(outcome.type, 'interaction')
      return { interactionId: outcome.interactionId, browserSecret: outcome.browserSecret }
    }
  })
  after(async () => {
    await store?.close()
  })

  function view(outcome: JourneyOutcome): JourneyView {
    assert.equal(outcome.type, 'show', JSON.stringify(outcome))
    return outcome.view
  }

  function step(outcome: JourneyOutcome) {
    const shown = view(outcome)
    assert.equal(shown.kind, 'step', JSON.stringify(shown))
    return shown
  }

  function choice(outcome: JourneyOutcome) {
    const shown = view(outcome)
    assert.equal(shown.kind, 'choose', JSON.stringify(shown))
    return shown
  }

  function input(started: { interactionId: string; browserSecret: string }, extra: Partial<JourneyInput> = {}): JourneyInput {
    return { interactionId: started.interactionId, browserSecret: started.browserSecret, form: {}, ...extra }
  }

  it('a request accepting it among others starts it at once, offering the choice as another way', async () => {
    const started = await begin('AAL1_USERPASS AAL2_TOTP')
    const first = step(await journey.show(input(started, { lastMethod: 'totp' })))
    assert.equal(first.method.id, 'totp')
    // The authenticator app's first step asks for the username and password.
    assert.equal(first.view.page, 'password')
    assert.equal(first.remembered, true)
    assert.deepEqual(first.alternatives.map((m) => m.id), ['password'])
    assert.equal((await store.interactions.get(started.interactionId, Date.now()))?.payload.remembered, 'started')
    // Shown again (a reload), it is the same step.
    assert.equal(step(await journey.show(input(started, { lastMethod: 'totp' }))).method.id, 'totp')
  })

  it('"another way" leads to the choice, which stays the choice within the journey, even when the method is chosen again', async () => {
    const started = await begin('AAL1_USERPASS AAL2_TOTP')
    step(await journey.show(input(started, { lastMethod: 'totp' })))
    const chooser = choice(await journey.back(input(started, { lastMethod: 'totp' })))
    assert.deepEqual(chooser.options.map((m) => m.id), ['password', 'totp'])
    // Coming back to the journey's page does not start the remembered method again.
    choice(await journey.show(input(started, { lastMethod: 'totp' })))
    choice(await journey.show(input(started, { lastMethod: 'password' })))
    // Chosen by the person, the method is theirs: no "another way" beside the ordinary back link.
    const csrf = chooser.csrf
    const chosen = step(await journey.choose(input(started, { lastMethod: 'totp', form: { csrf, method: 'totp' } })))
    assert.equal(chosen.method.id, 'totp')
    assert.equal(chosen.remembered, false)
    assert.equal(chosen.canGoBack, true)
    assert.equal((await store.interactions.get(started.interactionId, Date.now()))?.payload.remembered, 'left')
  })

  it('a failed step of the remembered method keeps offering another way', async () => {
    const started = await begin('AAL1_USERPASS AAL2_TOTP')
    const first = step(await journey.show(input(started, { lastMethod: 'password' })))
    assert.equal(first.method.id, 'password')
    const failed = await journey.submit(input(started, { form: { csrf: first.csrf, username: worker?.username as string, password: 'not the password' } }))
    assert.equal(failed.type === 'show' && failed.status, 400)
    const again = step(failed)
    assert.equal(again.view.error, 'invalid_credentials')
    assert.equal(again.remembered, true)
  })

  it('a request that does not accept it, or only one method, or a method nobody offers: as without a remembered method', async () => {
    // Only the authenticator app: it starts, as a single option always does, with no other way to offer.
    const single = step(await journey.show(input(await begin('AAL2_TOTP'), { lastMethod: 'password' })))
    assert.equal(single.method.id, 'totp')
    assert.equal(single.remembered, false)
    assert.equal(single.canGoBack, false)
    const onlyTotp = step(await journey.show(input(await begin('AAL2_TOTP'), { lastMethod: 'totp' })))
    assert.equal(onlyTotp.remembered, false)
    // A method the provider does not have: the choice.
    assert.deepEqual(choice(await journey.show(input(await begin('AAL1_USERPASS AAL2_TOTP'), { lastMethod: 'smartcard' }))).options.map((m) => m.id), ['password', 'totp'])
    // No remembered method: the choice.
    choice(await journey.show(input(await begin('AAL1_USERPASS AAL2_TOTP'))))
  })

  it('a sign-in through the remembered method names it, for the browser to remember again', async () => {
    const started = await begin('AAL1_USERPASS AAL2_TOTP')
    const first = step(await journey.show(input(started, { lastMethod: 'password' })))
    const signedIn = await journey.submit(input(started, { form: { csrf: first.csrf, username: worker?.username as string, password: workerPassword } }))
    assert.equal(signedIn.type, 'redirect')
    assert.deepEqual(signedIn.attempt, { method: 'password', result: 'success' })
    assert.ok(new URL(signedIn.location).searchParams.get('code'))
  })
})
