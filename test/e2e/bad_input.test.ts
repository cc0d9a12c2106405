/**
 * Bad input gets a precise error and changes nothing. Every refusal below is checked whole: the
 * exact `error`, the status, whether it redirected and where, and a body free of stack traces,
 * exception text, file paths and whatever secret was sent. "Changes nothing" is checked against
 * the store itself: no journey started, no code redeemed, no grant written, no session ended.
 *
 * Client authentication (secrets and private_key_jwt) has its own file, client_auth.test.ts.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { Browser, form, radioValues, type PageResult } from '../support/browser.ts'
import { startTestCareid, type TestCareid } from '../support/careid.ts'
import { hs256Jwt, jwtParts, publicKeyPem, rs256Jwt, unsignedJwt, withEditedPayload } from '../support/jwt_forgery.ts'
import { assertNoLeak, codeRedeemed, expectErrorPage, expectErrorRedirect, expectJsonError, rowCounts } from '../support/refusals.ts'
import { authorizationUrl, encodeForm, pkcePair, postForm, signedInBrowser, singleRolePassword, singleRolePerson, ssoCode, type CodeClient, type FormValues } from '../support/sso_codes.ts'
import { someoneWithFewRoles } from '../support/demo_people.ts'

interface Client extends CodeClient {
  client_secret: string
}

interface Tokens {
  access_token: string
  id_token: string
  refresh_token?: string
}

const invalidCode = 'The provided access grant is invalid, expired, or revoked.'

/** Someone with 2 to 5 roles (a plain role picker), and a role that belongs to someone else. */
const someoneWithRoles = someoneWithFewRoles()
const manyRoles = someoneWithRoles
const manyRolesPassword = demoCredentials[manyRoles.uid]?.password as string
const foreignRole = demoWorkforce.find((p) => p.uid !== manyRoles.uid && p.positions.length > 0)?.positions[0]?.person_roleid as string

/** A key that is not Careid's, to sign tokens that claim to be Careid's. */
const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey

describe('bad input is refused precisely and changes nothing', () => {
  let careid: TestCareid
  let rp: Client
  let other: Client
  let twoUris: Client
  let publicClient: CodeClient
  let browser: Browser
  /** Tokens from a real sign-in, for the tampering cases. */
  let real: Tokens
  /** Careid's published signing key. */
  let ourJwk: Record<string, unknown>

  const tokenUrl = () => careid.provider.endpoints.token
  const rpAuth = () => ({ client_id: rp.client_id, client_secret: rp.client_secret })

  async function addClient(redirectUris: string[], extra: { refresh_tokens?: boolean; post_logout_redirect_uris?: string[] } = {}): Promise<Client> {
    const { client_id, client_secret } = await careid.addClient({ redirect_uris: redirectUris, token_endpoint_auth_method: 'client_secret_post', ...extra })
    return { client_id, client_secret: client_secret as string, redirect_uri: redirectUris[0] as string }
  }

  async function redeem(code: string, extra: FormValues = {}): Promise<Tokens> {
    const response = await postForm(tokenUrl(), { grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, ...rpAuth(), ...extra })
    const body = (await response.json()) as Tokens
    assert.equal(response.status, 200, JSON.stringify(body))
    return body
  }

  before(async () => {
    careid = await startTestCareid()
    rp = await addClient(['https://rp.example.test/cb'], { refresh_tokens: true, post_logout_redirect_uris: ['https://rp.example.test/signed-out'] })
    other = await addClient(['https://other.example.test/cb'])
    twoUris = await addClient(['https://two.example.test/a', 'https://two.example.test/b'])
    const pub = await careid.addClient({ redirect_uris: ['http://127.0.0.1:8123/cb'], token_endpoint_auth_method: 'none' })
    publicClient = { client_id: pub.client_id, redirect_uri: 'http://127.0.0.1:8123/cb' }
    browser = await signedInBrowser(careid, rp)
    real = await redeem(await ssoCode(careid, browser, rp))
    const jwks = (await (await fetch(careid.provider.endpoints.jwks)).json()) as { keys: Array<Record<string, unknown>> }
    ourJwk = jwks.keys.find((k) => k.kid === jwtParts(real.id_token).header.kid) as Record<string, unknown>
    assert.ok(ourJwk, 'the ID token was signed by a published key')
  })
  after(async () => {
    await careid.close()
  })

  /** The ways a token that claims to be ours can be forged from a real one. */
  function forgeries(jwt: string): Array<[string, string]> {
    const { header, payload } = jwtParts(jwt)
    return [
      ['alg none', unsignedJwt(header, payload)],
      ['alg none keeping the original signature', `${unsignedJwt(header, payload)}${jwtParts(jwt).signature}`],
      ['signed by another key under our kid', rs256Jwt(header, payload, strangerKey)],
      ['HS256 keyed with our public key', hs256Jwt(header, payload, publicKeyPem(ourJwk))],
      ['HS256 keyed with our public JWK', hs256Jwt(header, payload, JSON.stringify(ourJwk))],
      ['payload edited under the original signature', withEditedPayload(jwt, { sub: manyRoles.uid })],
      ['garbage', 'not-a-jwt'],
      ['three garbage segments', 'a.b.c'],
    ]
  }

  describe('authorization endpoint', () => {
    const base = (): FormValues => ({
      response_type: 'code',
      client_id: rp.client_id,
      redirect_uri: rp.redirect_uri,
      scope: 'openid',
      state: 'st-1',
      nonce: 'n-1',
      acr_values: 'AAL1_USERPASS',
    })
    /** Without cookies, so a journey started by mistake would show as a new browser cookie. */
    const authorize = (changes: FormValues) => fetch(authorizationUrl(careid, { ...base(), ...changes }), { redirect: 'manual' })

    /** `state` is what must come back: the request's by default, null for none. */
    async function refusedToRp(changes: FormValues, error: string, state: string | null = 'st-1', client: CodeClient = rp): Promise<URLSearchParams> {
      const response = await authorize(changes)
      assert.deepEqual(response.headers.getSetCookie(), [], 'a refused request sets no cookie')
      return expectErrorRedirect(response, { redirectUri: client.redirect_uri, issuer: careid.issuer, error, state: state ?? undefined })
    }
    async function refusedOnPage(changes: FormValues, error: string): Promise<string> {
      const response = await authorize(changes)
      assert.deepEqual(response.headers.getSetCookie(), [], 'a refused request sets no cookie')
      return expectErrorPage(response, { status: 400, error })
    }
    function startsJourney(response: Response): void {
      assert.equal(response.status, 302)
      assert.match(response.headers.get('location') ?? '', /\/interaction\/[A-Za-z0-9_-]+$/)
    }

    let countsBefore: Record<string, number>
    const tables = ['interactions', 'codes', 'sessions', 'grants']

    it('starts a journey for the unaltered request (so each refusal below is the one change)', async () => {
      startsJourney(await authorize({}))
      startsJourney(await authorize({ id_token_hint: real.id_token }))
      const { challenge } = pkcePair()
      startsJourney(await fetch(authorizationUrl(careid, { response_type: 'code', client_id: publicClient.client_id, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }), { redirect: 'manual' }))
      startsJourney(await postForm(careid.provider.endpoints.authorization, base()))
      countsBefore = rowCounts(careid, tables)
    })

    it('shows a page, never a redirect, when client_id or redirect_uri is repeated', async () => {
      // Until both are known good the redirect URI cannot be trusted (RFC 6749 4.1.2.1).
      await refusedOnPage({ client_id: [rp.client_id, rp.client_id] }, 'invalid_request')
      await refusedOnPage({ client_id: [rp.client_id, other.client_id] }, 'invalid_request')
      await refusedOnPage({ redirect_uri: [rp.redirect_uri, rp.redirect_uri] }, 'invalid_request')
    })

    for (const name of ['response_type', 'scope', 'nonce', 'prompt', 'code_challenge'] as const) {
      it(`redirects invalid_request when ${name} is repeated`, async () => {
        const values: Record<typeof name, string> = { response_type: 'code', scope: 'openid', nonce: 'n-1', prompt: 'login', code_challenge: pkcePair().challenge }
        const extra = name === 'code_challenge' ? { code_challenge_method: 'S256' } : {}
        const params = await refusedToRp({ [name]: [values[name], values[name]], ...extra }, 'invalid_request')
        assert.equal(params.get('error_description'), `'${name}' parameter must not be provided more than once`)
      })
    }

    it('redirects invalid_request without echoing a repeated state', async () => {
      // Which of two values would be "the exact value received"? Neither is echoed.
      await refusedToRp({ state: ['st-1', 'st-2'] }, 'invalid_request', null)
    })

    it('shows a page for a missing, unknown or malformed client_id', async () => {
      await refusedOnPage({ client_id: undefined }, 'invalid_request')
      await refusedOnPage({ client_id: '999999999999.apps.national' }, 'invalid_client')
      const html = await refusedOnPage({ client_id: '<script>alert(1)</script>' }, 'invalid_client')
      assert.equal(html.includes('<script>alert'), false, 'the client_id is not echoed as markup')
    })

    it('shows a page for a redirect_uri that is not registered exactly', async () => {
      for (const uri of ['https://evil.example.test/cb', 'https://rp.example.test/cb?x=1', 'https://rp.example.test/cb/', 'https://RP.example.test/cb', 'http://rp.example.test/cb', 'not a uri']) {
        await refusedOnPage({ redirect_uri: uri }, 'invalid_request')
      }
      // With two registered, an omitted redirect_uri cannot be guessed.
      await refusedOnPage({ client_id: twoUris.client_id, redirect_uri: undefined }, 'invalid_request')
    })

    it('names a parameter on an error page as the specification spells it, never capitalised', async () => {
      const html = await refusedOnPage({ redirect_uri: 'https://evil.example.test/cb' }, 'invalid_request')
      const main = html.slice(html.indexOf('<main'), html.indexOf('</main>'))
      const paragraphs = [...main.matchAll(/<p\b[^>]*>([\s\S]*?)<\/p>/g)].map((m) => (m[1] as string).replace(/<br>/g, ' ').replace(/\s+/g, ' ').trim())
      assert.deepEqual(paragraphs, ['redirect_uri is not registered for this client.', 'Error code: invalid_request HTTP status 400'])
      // A description that does not start with a parameter is still a sentence.
      const unknown = await refusedOnPage({ client_id: '999999999999.apps.national' }, 'invalid_client')
      assert.ok(unknown.includes('<p>The client is not registered.</p>'))
    })

    it('redirects invalid_request when response_type is missing', async () => {
      await refusedToRp({ response_type: undefined }, 'invalid_request')
    })

    it('redirects unsupported_response_type for anything but code', async () => {
      for (const type of ['token', 'id_token', 'code id_token', 'code token', 'none', 'CODE']) {
        await refusedToRp({ response_type: type }, 'unsupported_response_type')
      }
    })

    it('redirects invalid_scope without openid', async () => {
      for (const scope of ['profile email', 'OPENID', undefined]) await refusedToRp({ scope }, 'invalid_scope')
    })

    it('redirects invalid_request for prompt=none with another value, or an unknown prompt', async () => {
      for (const prompt of ['none login', 'login none', 'consent', 'select_account', 'login bogus']) {
        await refusedToRp({ prompt }, 'invalid_request')
      }
    })

    it('redirects invalid_request for a max_age that is not a non-negative integer', async () => {
      for (const maxAge of ['-1', '1.5', 'abc', '1e3', '0x10', '99999999999']) await refusedToRp({ max_age: maxAge }, 'invalid_request')
    })

    it('refuses PKCE other than a well-formed S256 challenge', async () => {
      const { challenge } = pkcePair()
      await refusedToRp({ code_challenge: challenge, code_challenge_method: 'plain' }, 'invalid_request')
      await refusedToRp({ code_challenge: challenge, code_challenge_method: 'S512' }, 'invalid_request')
      // RFC 7636 4.3: an absent method means plain, which is refused.
      await refusedToRp({ code_challenge: challenge }, 'invalid_request')
      await refusedToRp({ code_challenge_method: 'S256' }, 'invalid_request')
      for (const bad of ['abc', `${challenge}A`, `${challenge.slice(0, 42)}+`, `${challenge.slice(0, 42)}=`]) {
        await refusedToRp({ code_challenge: bad, code_challenge_method: 'S256' }, 'invalid_request')
      }
    })

    it('refuses a public client without PKCE, at its own redirect URI', async () => {
      const params = await refusedToRp({ client_id: publicClient.client_id, redirect_uri: publicClient.redirect_uri }, 'invalid_request', 'st-1', publicClient)
      assert.equal(params.get('error_description'), 'PKCE code_challenge is required for this client')
    })

    it('redirects invalid_request for an id_token_hint that is not an ID token we signed', async () => {
      for (const [name, hint] of [...forgeries(real.id_token), ['an access token', real.access_token] as [string, string]]) {
        const params = await refusedToRp({ id_token_hint: hint }, 'invalid_request')
        assert.equal(params.get('error_description'), 'id_token_hint is not a valid ID token issued by this provider', name)
      }
    })

    it('redirects the *_not_supported errors for request objects and registration', async () => {
      await refusedToRp({ request: unsignedJwt({}, { client_id: rp.client_id }) }, 'request_not_supported')
      await refusedToRp({ request_uri: 'https://rp.example.test/request.jwt' }, 'request_uri_not_supported')
      await refusedToRp({ registration: '{}' }, 'registration_not_supported')
    })

    it('answers in the query when asked for another response_mode', async () => {
      for (const mode of ['fragment', 'form_post']) {
        const response = await authorize({ response_mode: mode })
        assert.equal(response.headers.get('location')?.includes('#'), false, 'the error is not put in a fragment')
        await expectErrorRedirect(response, { redirectUri: rp.redirect_uri, issuer: careid.issuer, error: 'invalid_request', state: 'st-1' })
      }
    })

    it('refuses an oversized nonce and state, and accepts them at the limit', async () => {
      await refusedToRp({ nonce: 'n'.repeat(2049) }, 'invalid_request')
      // An over-long state is refused rather than carried through the sign-in cut short; the
      // error's own echo is bounded at the limit, so no request can make Careid repeat megabytes.
      const params = await refusedToRp({ state: 's'.repeat(2049) }, 'invalid_request', 's'.repeat(2048))
      assert.equal(params.get('error_description'), 'state is too long')
      startsJourney(await authorize({ nonce: 'n'.repeat(2048), state: 's'.repeat(2048) }))
      countsBefore.interactions = (countsBefore.interactions ?? 0) + 1
    })

    it('shows a page for a POST that is not form-encoded', async () => {
      const url = careid.provider.endpoints.authorization
      const asJson = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(base()), redirect: 'manual' })
      assert.deepEqual(asJson.headers.getSetCookie(), [])
      await expectErrorPage(asJson, { status: 400, error: 'invalid_request' })
      const badJson = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id":', redirect: 'manual' })
      await expectErrorPage(badJson, { status: 400, error: 'invalid_request' })
      const tooBig = await postForm(url, `${encodeForm(base())}&pad=${'x'.repeat(65 * 1024)}`)
      await expectErrorPage(tooBig, { status: 413, error: 'invalid_request' })
    })

    it('started no journey and issued no code for any refused request', () => {
      assert.deepEqual(rowCounts(careid, tables), countsBefore)
    })
  })

  describe('token endpoint: refused before the code is redeemed', () => {
    let code: string
    let pkce: ReturnType<typeof pkcePair>
    let grantsBefore: number
    const good = (): FormValues => ({ grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, code_verifier: pkce.verifier, ...rpAuth() })

    before(async () => {
      pkce = pkcePair()
      code = await ssoCode(careid, browser, rp, { code_challenge: pkce.challenge, code_challenge_method: 'S256' })
      grantsBefore = rowCounts(careid, ['grants']).grants as number
    })

    /** Each refusal leaves the code unredeemed and writes no grant. */
    function untouched(): void {
      assert.equal(codeRedeemed(careid, code), false, 'the code is still unredeemed')
      assert.equal(rowCounts(careid, ['grants']).grants, grantsBefore, 'no grant was written')
    }

    it('has no GET: 404 JSON', async () => {
      await expectJsonError(await fetch(`${tokenUrl()}?${encodeForm(good())}`), { status: 404, error: 'not_found', secrets: [rp.client_secret] })
      untouched()
    })

    it('refuses a body that is not form-encoded: 400 invalid_request', async () => {
      const secrets = [rp.client_secret]
      const asJson = await fetch(tokenUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(good()) })
      await expectJsonError(asJson, { status: 400, error: 'invalid_request', description: 'content type must be application/x-www-form-urlencoded', secrets })
      const asText = await fetch(tokenUrl(), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: encodeForm(good()) })
      await expectJsonError(asText, { status: 400, error: 'invalid_request', secrets })
      const badJson = await fetch(tokenUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' })
      await expectJsonError(badJson, { status: 400, error: 'invalid_request', secrets })
      const noBody = await fetch(tokenUrl(), { method: 'POST' })
      await expectJsonError(noBody, { status: 400, error: 'invalid_request' })
      untouched()
    })

    it('refuses a body over 64 KiB: 413 invalid_request', async () => {
      const response = await postForm(tokenUrl(), `${encodeForm(good())}&pad=${'x'.repeat(64 * 1024)}`)
      await expectJsonError(response, { status: 413, error: 'invalid_request', description: 'request body is too large', secrets: [rp.client_secret] })
      untouched()
    })

    it('reads malformed percent-encoding as the literal text it is, and refuses what that says', async () => {
      const secrets = [rp.client_secret]
      const form = encodeForm(good())
      // A stray '%' cannot be decoded: the value keeps it, so the grant type or code is simply wrong.
      await expectJsonError(await postForm(tokenUrl(), form.replace('grant_type=authorization_code', 'grant_type=authorization_code%')), { status: 400, error: 'unsupported_grant_type', secrets })
      await expectJsonError(await postForm(tokenUrl(), form.replace(`code=${code}`, `code=${code}%E0%A4%A`)), { status: 400, error: 'invalid_grant', description: invalidCode, secrets })
      // Bytes that are not UTF-8 at all, as the code (last, so nothing else is disturbed).
      const bytes = Buffer.concat([Buffer.from(`${encodeForm({ ...good(), code: undefined })}&code=`), Buffer.from([0xff, 0xfe, 0x00])])
      const raw = await fetch(tokenUrl(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: bytes })
      await expectJsonError(raw, { status: 400, error: 'invalid_grant', secrets })
      untouched()
    })

    it('refuses a missing grant_type: invalid_request', async () => {
      await expectJsonError(await postForm(tokenUrl(), { ...good(), grant_type: undefined }), { status: 400, error: 'invalid_request', description: "missing required parameter 'grant_type'" })
      untouched()
    })

    it('refuses grant types it does not support: unsupported_grant_type', async () => {
      const password = singleRolePassword
      for (const grantType of ['client_credentials', 'password', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer']) {
        const response = await postForm(tokenUrl(), { ...good(), grant_type: grantType, username: singleRolePerson.username, password })
        await expectJsonError(response, { status: 400, error: 'unsupported_grant_type', secrets: [rp.client_secret, password] })
      }
      untouched()
    })

    it('refuses any repeated parameter: invalid_request', async () => {
      for (const name of ['code', 'grant_type', 'redirect_uri', 'code_verifier', 'client_id', 'client_secret'] as const) {
        const value = good()[name] as string
        const response = await postForm(tokenUrl(), { ...good(), [name]: [value, value] })
        await expectJsonError(response, { status: 400, error: 'invalid_request', description: `'${name}' parameter must not be provided more than once`, secrets: [rp.client_secret] })
      }
      untouched()
    })

    it('refuses a missing code as invalid_request (a missing parameter, RFC 6749 5.2) and an unknown one as invalid_grant', async () => {
      await expectJsonError(await postForm(tokenUrl(), { ...good(), code: undefined }), { status: 400, error: 'invalid_request', description: "missing required parameter 'code'" })
      for (const unknown of [`${code}x`, 'x', 'a'.repeat(4000)]) {
        await expectJsonError(await postForm(tokenUrl(), { ...good(), code: unknown }), { status: 400, error: 'invalid_grant', description: invalidCode })
      }
      untouched()
    })

    it('refuses a code_verifier that is not 43 to 128 unreserved characters: invalid_request', async () => {
      for (const verifier of ['short', 'a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)} `]) {
        const response = await postForm(tokenUrl(), { ...good(), code_verifier: verifier })
        await expectJsonError(response, { status: 400, error: 'invalid_request', description: 'code_verifier must be 43 to 128 unreserved characters' })
      }
      untouched()
    })

    it('still redeems the code once after all of that, and never twice', async () => {
      const tokens = await redeem(code, { code_verifier: pkce.verifier })
      assert.equal(typeof tokens.access_token, 'string')
      await expectJsonError(await postForm(tokenUrl(), good()), { status: 400, error: 'invalid_grant', description: invalidCode })
    })
  })

  describe('token endpoint: refused after the code is redeemed', () => {
    // Careid marks the code redeemed first (one atomic step, so two racing requests cannot both
    // win) and only then checks what the code is bound to: the client, the redirect URI, the PKCE
    // verifier. A request failing those checks has spent the code; the rightful client's later
    // attempt is then a reuse, refused too. Losing one sign-in is the price of never leaving a
    // stolen-code window open while checks run.
    /** A code (with a PKCE challenge unless `withChallenge` is false), spent by a request with `params` changed. */
    async function spentBy(params: FormValues, description: string, withChallenge = true): Promise<void> {
      const pkce = pkcePair()
      const code = await ssoCode(careid, browser, rp, withChallenge ? { code_challenge: pkce.challenge, code_challenge_method: 'S256' } : {})
      const grants = rowCounts(careid, ['grants']).grants
      const response = await postForm(tokenUrl(), { grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, code_verifier: pkce.verifier, ...rpAuth(), ...params })
      await expectJsonError(response, { status: 400, error: 'invalid_grant', description, secrets: [rp.client_secret, other.client_secret] })
      assert.equal(codeRedeemed(careid, code), true, 'the code is spent')
      const rightful = await postForm(tokenUrl(), { grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, ...(withChallenge ? { code_verifier: pkce.verifier } : {}), ...rpAuth() })
      await expectJsonError(rightful, { status: 400, error: 'invalid_grant', description: invalidCode })
      assert.equal(rowCounts(careid, ['grants']).grants, grants, 'no grant was written')
    }

    it('refuses a code issued to another client: invalid_grant', async () => {
      await spentBy({ client_id: other.client_id, client_secret: other.client_secret }, invalidCode)
    })

    it('refuses a redirect_uri different from the authorization request, or missing from it: invalid_grant', async () => {
      const description = 'redirect_uri does not match the authorization request'
      await spentBy({ redirect_uri: 'https://rp.example.test/other' }, description)
      await spentBy({ redirect_uri: undefined }, description)
    })

    it('refuses a wrong or missing PKCE verifier: invalid_grant', async () => {
      await spentBy({ code_verifier: pkcePair().verifier }, 'PKCE verification failed')
      await spentBy({ code_verifier: undefined }, 'code_verifier is required')
    })

    it('refuses a verifier for a code issued without a challenge: invalid_grant', async () => {
      await spentBy({ code_verifier: pkcePair().verifier }, 'code_verifier given for a code issued without code_challenge', false)
    })

    it('refuses a reused code and revokes what the first redemption issued', async () => {
      const code = await ssoCode(careid, browser, rp)
      const first = await redeem(code)
      const userinfoOk = await fetch(careid.provider.endpoints.userinfo, { headers: { authorization: `Bearer ${first.access_token}` } })
      assert.equal(userinfoOk.status, 200)

      await expectJsonError(await postForm(tokenUrl(), { grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, ...rpAuth() }), { status: 400, error: 'invalid_grant', description: invalidCode })

      // RFC 6749 4.1.2: the server "SHOULD revoke (when possible) all tokens previously issued based on that authorization code".
      const userinfo = await fetch(careid.provider.endpoints.userinfo, { headers: { authorization: `Bearer ${first.access_token}` } })
      await expectJsonError(userinfo, { status: 401, error: 'invalid_token' })
      for (const token of [first.access_token, first.refresh_token as string]) {
        const introspection = await postForm(careid.provider.endpoints.introspection, { token, ...rpAuth() })
        assert.equal(introspection.status, 200)
        assert.deepEqual(await introspection.json(), { active: false })
      }
      const refresh = await postForm(tokenUrl(), { grant_type: 'refresh_token', refresh_token: first.refresh_token as string, ...rpAuth() })
      await expectJsonError(refresh, { status: 400, error: 'invalid_grant', description: invalidCode })
    })
  })

  describe('userinfo', () => {
    let accessToken: string
    const url = () => careid.provider.endpoints.userinfo

    before(async () => {
      accessToken = (await redeem(await ssoCode(careid, browser, rp))).access_token
    })

    async function refusedAsInvalidToken(token: string, label: string): Promise<void> {
      const response = await fetch(url(), { headers: { authorization: `Bearer ${token}` } })
      assert.equal(response.headers.get('www-authenticate')?.includes('error="invalid_token"'), true, label)
      assert.match(response.headers.get('www-authenticate') ?? '', new RegExp(`^Bearer realm="${careid.issuer}"`))
      await expectJsonError(response, { status: 401, error: 'invalid_token', secrets: [token] })
    }

    it('answers the real token (so each refusal below is the one change)', async () => {
      const response = await fetch(url(), { headers: { authorization: `Bearer ${accessToken}` } })
      assert.equal(response.status, 200)
      const viaBody = await postForm(url(), { access_token: accessToken })
      assert.equal(viaBody.status, 200)
    })

    it('challenges a request with no token, with no error code (RFC 6750 3.1)', async () => {
      // No header; a Bearer scheme with nothing after it; an "unsupported authentication method".
      for (const init of [{}, { headers: { authorization: 'Bearer' } }, { headers: { authorization: `Basic ${Buffer.from(`${rp.client_id}:${rp.client_secret}`).toString('base64')}` } }]) {
        const response = await fetch(url(), init)
        assert.equal(response.status, 401)
        assert.equal(response.headers.get('www-authenticate'), `Bearer realm="${careid.issuer}"`)
        assert.equal(await response.text(), '')
      }
    })

    it('refuses malformed, edited, forged and expired tokens: 401 invalid_token', async () => {
      for (const [name, forged] of forgeries(accessToken)) await refusedAsInvalidToken(forged, name)
      // Signed by Careid's own key, everything right but the expiry, so only exp can refuse it.
      const payload = jwtParts(accessToken).payload
      const resigned = careid.context.keys.sign(payload, 'JWT')
      assert.equal((await fetch(url(), { headers: { authorization: `Bearer ${resigned}` } })).status, 200, 'a re-signed copy is accepted')
      const now = Math.floor(Date.now() / 1000)
      await refusedAsInvalidToken(careid.context.keys.sign({ ...payload, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }, 'JWT'), 'expired')
      await refusedAsInvalidToken('x'.repeat(9000), 'oversized')
    })

    it('refuses an ID token presented as an access token: 401 invalid_token', async () => {
      await refusedAsInvalidToken(real.id_token, 'id token')
    })

    it('refuses a token in the query: 400 invalid_request', async () => {
      const response = await fetch(`${url()}?access_token=${accessToken}`)
      assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_request"/)
      await expectJsonError(response, { status: 400, error: 'invalid_request', secrets: [accessToken] })
      const both = await fetch(`${url()}?access_token=${accessToken}`, { headers: { authorization: `Bearer ${accessToken}` } })
      await expectJsonError(both, { status: 400, error: 'invalid_request', secrets: [accessToken] })
    })

    it('refuses a token sent two ways, or twice: 400 invalid_request', async () => {
      const both = await postForm(url(), { access_token: accessToken }, { authorization: `Bearer ${accessToken}` })
      await expectJsonError(both, { status: 400, error: 'invalid_request', description: 'the access token must be sent one way only', secrets: [accessToken] })
      const twice = await postForm(url(), { access_token: [accessToken, accessToken] })
      await expectJsonError(twice, { status: 400, error: 'invalid_request', secrets: [accessToken] })
    })
  })

  describe('end session', () => {
    it('shows a page for a forged id_token_hint, does not redirect, and ends no session', async () => {
      const own = await signedInBrowser(careid, rp)
      const tokens = await redeem(await ssoCode(careid, own, rp))
      const postLogout = 'https://rp.example.test/signed-out'
      for (const [name, hint] of [...forgeries(tokens.id_token), ['an access token', tokens.access_token] as [string, string]]) {
        const url = `${careid.provider.endpoints.endSession}?${encodeForm({ id_token_hint: hint, post_logout_redirect_uri: postLogout, state: 'bye' })}`
        const response = await own.fetch(url)
        assert.deepEqual(response.headers.getSetCookie(), [], `${name}: the session cookie is left alone`)
        await expectErrorPage(response, { status: 400, error: 'invalid_request' })
      }
      // The session survived every refusal: single sign-on still answers.
      await ssoCode(careid, own, rp)
      // And the unaltered request logs out to the registered URI (so the refusals were the hint's).
      const ok = await own.fetch(`${careid.provider.endpoints.endSession}?${encodeForm({ id_token_hint: tokens.id_token, post_logout_redirect_uri: postLogout, state: 'bye' })}`)
      assert.equal(ok.status, 302)
      assert.equal(ok.headers.get('location'), `${postLogout}?state=bye`)
    })
  })

  describe('unknown paths', () => {
    const unknownPath = () => `${careid.issuer}/no-such-page?code=secret-looking-value`

    it('shows a browser (Accept: text/html) a 404 page in the site layout, with the same security headers as every page', async () => {
      const response = await fetch(unknownPath(), { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }, redirect: 'manual' })
      const html = await response.text()
      assert.equal(response.status, 404)
      assert.match(response.headers.get('content-type') ?? '', /^text\/html; charset=utf-8$/)
      assert.equal(response.headers.get('location'), null)
      assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
      assert.equal(response.headers.get('x-frame-options'), 'DENY')
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer')
      assert.equal(response.headers.get('cache-control'), 'no-store')
      assert.ok(html.startsWith('<!DOCTYPE html>'))
      assert.ok(html.includes('class="nhsuk-header'), 'the NHS header of every page')
      assert.ok(html.includes('<link rel="stylesheet" href="/assets/careid.css">'))
      assert.match(html, /<title>Page not found – Careid<\/title>/)
      assert.match(html, /<h1 class="nhsuk-heading-l">Page not found<\/h1>/)
      assert.ok(html.includes('<p>If you typed the web address, check it is correct. If you pasted the web address, check you copied the entire address. To sign in, go back to the application you came from and start again.</p>'))
      assert.ok(html.includes('HTTP status 404'))
      assertNoLeak(html, ['secret-looking-value'])
    })

    it('answers an API client (no text/html in Accept) with the JSON 404', async () => {
      for (const accept of [undefined, 'application/json', '*/*']) {
        const response = await fetch(unknownPath(), { headers: accept === undefined ? {} : { accept }, redirect: 'manual' })
        const body = await expectJsonError(response, { status: 404, error: 'not_found', description: 'no such endpoint' })
        assert.deepEqual(body, { error: 'not_found', error_description: 'no such endpoint' })
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
      }
    })
  })

  describe('sign-in pages', () => {
    const interactionBase = () => `${careid.issuer}/interaction`

    async function startJourney(b: Browser, params: FormValues = {}): Promise<PageResult> {
      const landing = await b.go(authorizationUrl(careid, { response_type: 'code', client_id: rp.client_id, redirect_uri: rp.redirect_uri, scope: 'openid', acr_values: 'AAL1_USERPASS', state: 'st-j', ...params }))
      assert.ok(landing.page !== undefined && landing.page.status === 200)
      return landing.page
    }

    it('shows a 400 page for an unknown interaction', async () => {
      const b = new Browser(careid.origin)
      await startJourney(b)
      const unknown = `${interactionBase()}/${'A'.repeat(22)}`
      await expectErrorPage(await b.fetch(unknown), { status: 400, error: 'invalid_request' })
      await expectErrorPage(await b.fetch(`${unknown}/authenticate`, { form: { csrf: 'x', username: singleRolePerson.username, password: singleRolePassword } }), { status: 400, error: 'invalid_request', secrets: [singleRolePassword] })
    })

    it('refuses a post without the right csrf token, or from another browser, and the journey stays where it was', async () => {
      const b = new Browser(careid.origin)
      const page = await startJourney(b)
      const f = form(page, '/authenticate')
      assert.ok(f.fields.csrf, 'the form carries a csrf token')
      const credentials = { username: singleRolePerson.username, password: singleRolePassword }
      const sessions = rowCounts(careid, ['sessions', 'codes'])
      const secrets = [singleRolePassword]

      const { csrf, ...withoutCsrf } = f.fields
      for (const fields of [withoutCsrf, { ...withoutCsrf, csrf: `${csrf}x` }, { ...withoutCsrf, csrf: '' }]) {
        const response = await b.fetch(f.action, { form: { ...fields, ...credentials } })
        assert.deepEqual(response.headers.getSetCookie(), [], 'no session cookie')
        await expectErrorPage(response, { status: 400, error: 'invalid_request', secrets })
      }
      // Login CSRF: the right token, but from a browser without the journey's binding cookie.
      const stranger = new Browser(careid.origin)
      const forged = await stranger.fetch(f.action, { form: { ...f.fields, ...credentials } })
      assert.deepEqual(forged.headers.getSetCookie(), [], 'no session cookie')
      await expectErrorPage(forged, { status: 400, error: 'invalid_request', secrets })
      assert.deepEqual(rowCounts(careid, ['sessions', 'codes']), sessions, 'no one was signed in and no code issued')

      // Not advanced: the same step is still shown, and the proper post completes it.
      const again = await b.go(page.url)
      assert.equal(again.page?.status, 200)
      assert.ok(again.page?.html.includes('name="password"'))
      const done = await b.go(f.action, { form: { ...f.fields, ...credentials } })
      assert.ok(done.location?.startsWith(`${rp.redirect_uri}?`) && new URL(done.location).searchParams.has('code'), done.location)
    })

    it('shows the role page again, with an error, for a role the person does not hold, and issues nothing', async () => {
      const b = new Browser(careid.origin)
      const page = await startJourney(b, { scope: 'openid selectedrole' })
      const f = form(page, '/authenticate')
      const rolePage = (await b.go(f.action, { form: { ...f.fields, username: manyRoles.username, password: manyRolesPassword } })).page
      assert.ok(rolePage !== undefined && rolePage.html.includes('name="role"'), 'the role picker is shown')
      const roleForm = form(rolePage, '/role')
      const held = radioValues(rolePage, 'role')
      assert.equal(held.includes(foreignRole), false)
      const codes = rowCounts(careid, ['codes'])

      for (const role of [foreignRole, '', 'not-a-role']) {
        const response = await b.fetch(roleForm.action, { form: { ...roleForm.fields, role } })
        const html = await response.text()
        assert.equal(response.status, 400)
        assert.equal(response.headers.get('location'), null)
        assert.ok(html.includes('name="role"') && html.includes('Select the role you want to use'), 'the role page again, with the error')
        assertNoLeak(html, [manyRolesPassword])
      }
      assert.deepEqual(rowCounts(careid, ['codes']), codes, 'no code was issued')

      const done = await b.go(roleForm.action, { form: { ...roleForm.fields, role: held[0] as string } })
      assert.ok(done.location?.startsWith(`${rp.redirect_uri}?`) && new URL(done.location).searchParams.has('code'), done.location)
    })
  })
})

describe('expiry of codes and sign-in journeys', () => {
  // Instances with short lifetimes, so expiry is reached with a short wait.
  let codes: TestCareid
  let journeys: TestCareid
  before(async () => {
    ;[codes, journeys] = await Promise.all([startTestCareid({ config: { codeTtlMs: 1_400 } }), startTestCareid({ config: { interactionTtlMs: 1_200 } })])
  })
  after(async () => {
    await Promise.all([codes?.close(), journeys?.close()])
  })

  it('refuses an expired code: invalid_grant, and writes no grant', async () => {
    const { client_id, client_secret } = await codes.addClient({ redirect_uris: ['https://rp.example.test/cb'], token_endpoint_auth_method: 'client_secret_post' })
    const client = { client_id, redirect_uri: 'https://rp.example.test/cb' }
    const b = await signedInBrowser(codes, client)
    const exchange = (code: string) => postForm(codes.provider.endpoints.token, { grant_type: 'authorization_code', code, redirect_uri: client.redirect_uri, client_id, client_secret: client_secret as string })
    // A code redeemed at once works here, so what refuses the next one is its age alone.
    assert.equal((await exchange(await ssoCode(codes, b, client))).status, 200)

    const code = await ssoCode(codes, b, client)
    await sleep(1_500)
    const grants = rowCounts(codes, ['grants'])
    await expectJsonError(await exchange(code), { status: 400, error: 'invalid_grant', description: invalidCode, secrets: [client_secret as string] })
    assert.deepEqual(rowCounts(codes, ['grants']), grants)
  })

  it('shows a 400 page for an expired sign-in journey', async () => {
    const { client_id } = await journeys.addClient({ redirect_uris: ['https://rp.example.test/cb'], token_endpoint_auth_method: 'client_secret_post' })
    const b = new Browser(journeys.origin)
    const landing = await b.go(authorizationUrl(journeys, { response_type: 'code', client_id, scope: 'openid', acr_values: 'AAL1_USERPASS' }))
    assert.equal(landing.page?.status, 200, 'the journey is live at first')
    const f = form(landing.page as PageResult, '/authenticate')
    await sleep(1_300)
    await expectErrorPage(await b.fetch((landing.page as PageResult).url), { status: 400, error: 'invalid_request' })
    const posted = await b.fetch(f.action, { form: { ...f.fields, username: singleRolePerson.username, password: singleRolePassword } })
    assert.deepEqual(posted.headers.getSetCookie(), [])
    await expectErrorPage(posted, { status: 400, error: 'invalid_request', secrets: [singleRolePassword] })
  })
})
