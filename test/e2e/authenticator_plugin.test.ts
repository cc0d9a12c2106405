/**
 * The authenticator plugin seam, proven with an authenticator Careid does not ship, defined here
 * and registered from outside the protocol core: a "test code" authenticator (standing in for
 * CIS2's NHSmail method, `AAL2_NHSMAIL`) whose one-use codes are issued by its own endpoint under
 * the issuer. It gets only the store parts it declares (people by username, the short-lived store),
 * is offered on the method-choice page for its acr, signs a person in through the journey, and its
 * amr reaches the ID token.
 */
import assert from 'node:assert/strict'
import { createHash, randomInt } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import {
  bindAuthenticator,
  PluginRefusal,
  type Authenticator,
  type InteractionStore,
  type PersonStore,
  type StepResult,
} from '@careid/ports'
import { totpPage } from '@careid/authenticators'
import type { CareidPlugin } from '../../packages/cli/src/start.ts'
import { Browser, form, radioValues, type Landing, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { person } from '../support/demo_people.ts'
import { addRp, authorizeUrl, baseUrl, callbackParams, redeem, type TestRp } from '../support/rp.ts'

/** The only store parts the test-code authenticator and its endpoint use. */
interface TestCodeContext {
  people: Pick<PersonStore, 'getByUsername'>
  interactions: Pick<InteractionStore, 'put' | 'get' | 'remove'>
}

const codeKey = (code: string) => `test-code:${createHash('sha256').update(code).digest('base64url')}`

/** Asks for a code on the code page; a code issued for a person, used once, signs them in. */
function testCodeAuthenticator(): Authenticator<TestCodeContext> {
  const state = { step: 'code' }
  const refuse = (reason: 'invalid_code' | 'missing_input'): StepResult => ({ type: 'failure', state, view: { page: 'totp', error: reason }, reason })
  return {
    method: { id: 'test-code', amr: 'NHSMAIL', aal: 2, acr: 'AAL2_NHSMAIL', label: 'Test code', description: 'Sign in with a one-use test code.' },
    // It asks for its code on the TOTP authenticator's page.
    pages: [totpPage],
    async start() {
      return { state, view: { page: 'totp' } }
    },
    async submit(ctx, _state, input) {
      const code = input.code ?? ''
      if (code === '') return refuse('missing_input')
      const record = await ctx.interactions.get(codeKey(code), ctx.now)
      // remove() is atomic: a code signs in once.
      if (record === undefined || !(await ctx.interactions.remove(record.id))) return refuse('invalid_code')
      return { type: 'success', uid: String(record.payload.uid), amr: ['NHSMAIL'] }
    },
  }
}

/** The plugin: the authenticator bound to its store parts, and `POST {issuer}/test-code/issue`. */
const testCodePlugin: CareidPlugin = ({ store, now }) => {
  const parts: TestCodeContext = { people: store.people, interactions: store.interactions }
  return {
    authenticators: [bindAuthenticator(testCodeAuthenticator(), parts)],
    routes: [
      {
        method: 'POST',
        path: '/test-code/issue',
        async handle(request) {
          const username = (request.body as { username?: unknown } | null)?.username
          const found = typeof username === 'string' ? ((await parts.people.getByUsername(username)) as { uid?: unknown } | undefined) : undefined
          if (typeof found?.uid !== 'string') throw new PluginRefusal('invalid_request', 400, 'no person has this username')
          const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
          await parts.interactions.put({ id: codeKey(code), expires_at: now() + 5 * 60_000, payload: { uid: found.uid } })
          return { code }
        },
      },
    ],
  }
}

function shown(landing: Landing): PageResult {
  assert.ok(landing.page, `expected a page, was redirected to ${landing.location}`)
  return landing.page
}

async function issueCode(careid: TestCareid, username: string): Promise<Response> {
  return fetch(`${baseUrl(careid)}/test-code/issue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username }) })
}

describe('an authenticator plugin registered from outside the core', () => {
  let careid: TestCareid
  let rp: TestRp
  const walker = person('dentist.walker')

  before(async () => {
    careid = await startTestCareid({ plugins: [testCodePlugin] })
    rp = await addRp(careid)
  })
  after(() => careid.close())

  /** From the authorization request to the plugin's code page, choosing it on the choice page. */
  async function toCodePage(browser: Browser): Promise<PageResult> {
    const choice = shown(await browser.go(authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL2_NHSMAIL AAL2_TOTP', state: 'st', nonce: 'nn' })))
    assert.equal(choice.status, 200)
    assert.deepEqual(radioValues(choice, 'method'), ['totp', 'test-code'])
    assert.ok(choice.html.includes('Test code'))
    const f = form(choice, '/method')
    const page = shown(await browser.go(f.action, { form: { ...f.fields, method: 'test-code' } }))
    assert.equal(page.status, 200)
    assert.ok(page.html.includes('name="code"'))
    return page
  }

  it('is offered for its acr, signs the person in with its own code, and its amr and acr are in the ID token', async () => {
    const browser = new Browser(careid.origin)
    const page = await toCodePage(browser)
    const issued = await issueCode(careid, walker.username)
    assert.equal(issued.status, 200)
    const { code } = (await issued.json()) as { code: string }
    const f = form(page, '/authenticate')
    const landing = await browser.go(f.action, { form: { ...f.fields, code } })
    assert.equal(callbackParams(rp, landing.location).get('state'), 'st')
    const tokens = await redeem(rp, landing.location)
    assert.equal(tokens.id.sub, walker.uid)
    assert.deepEqual(tokens.id.amr, ['NHSMAIL'])
    assert.equal(tokens.id.acr, 'AAL2_NHSMAIL')
  })

  it('refuses a wrong code, and a used one, on its page with 400 and signs nobody in', async () => {
    const browser = new Browser(careid.origin)
    const page = await toCodePage(browser)
    const f = form(page, '/authenticate')
    const wrong = shown(await browser.go(f.action, { form: { ...f.fields, code: 'not-issued' } }))
    assert.equal(wrong.status, 400)
    assert.ok(wrong.html.includes('Enter the correct 6-digit code'))

    const { code } = (await (await issueCode(careid, walker.username)).json()) as { code: string }
    const first = await browser.go(form(wrong, '/authenticate').action, { form: { ...form(wrong, '/authenticate').fields, code } })
    assert.ok(first.location !== undefined, 'the issued code signs in')
    const again = new Browser(careid.origin)
    const other = await toCodePage(again)
    const reused = shown(await again.go(form(other, '/authenticate').action, { form: { ...form(other, '/authenticate').fields, code } }))
    assert.equal(reused.status, 400)
    assert.ok(reused.html.includes('Enter the correct 6-digit code'))
  })

  it("answers its endpoint's refusal as JSON with the refusal's status, not cached, from the one error renderer", async () => {
    const response = await issueCode(careid, 'nobody.here')
    assert.equal(response.status, 400)
    assert.equal(response.headers.get('cache-control'), 'no-store')
    assert.deepEqual(await response.json(), { error: 'invalid_request', error_description: 'no person has this username' })
  })

  it('refuses to register a second authenticator with an id already offered', () => {
    const parts: TestCodeContext = { people: careid.context.store.people, interactions: careid.context.store.interactions }
    assert.throws(() => careid.provider.registerAuthenticator(bindAuthenticator(testCodeAuthenticator(), parts)), /an authenticator with id test-code is already registered/)
  })
})
