/**
 * /metrics for operators: who may read it (a listener of its own, a bearer token, or not served at
 * all), and what it counts so that an attack or an outage shows: sign-ins by method and result,
 * token requests by grant type and result, and refusals by endpoint and error code, with only
 * known values as labels (never a username, a client id or a token).
 */
import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { Browser, form } from '../support/browser.ts'
import { freePort, startTestCareid, type TestCareid } from '../support/careid.ts'
import { addRp, authorizeUrl, baseUrl, callbackParams, redeem, type TestRp } from '../support/rp.ts'
import { issueTestVirtualCard, passcodeAttempt } from '../support/smartcard.ts'
import { singleRolePassword, singleRolePerson } from '../support/sso_codes.ts'
import { windowWithRoom } from '../support/rate_windows.ts'

const prometheusText = 'text/plain; version=0.0.4; charset=utf-8'

describe('who may read /metrics', () => {
  const instances: TestCareid[] = []
  after(async () => {
    await Promise.all(instances.map((careid) => careid.close()))
  })
  async function start(settings: NonNullable<Parameters<typeof startTestCareid>[0]>['settings']) {
    const careid = await startTestCareid({ settings })
    instances.push(careid)
    return careid
  }

  it('with a token, /metrics on the main port answers 401 without it or with a wrong one, and the metrics with it', async () => {
    const token = randomBytes(32).toString('hex')
    const careid = await start({ metricsToken: token })
    const url = `${careid.origin}/metrics`

    const none = await fetch(url)
    assert.equal(none.status, 401)
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="careid-metrics"')
    assert.equal(await none.text(), '', 'no metrics and no error code when no token was sent (RFC 6750 3.1)')

    const wrongToken = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`
    for (const authorization of [`Bearer ${wrongToken}`, `Bearer ${token}x`, `Basic ${Buffer.from(`metrics:${token}`).toString('base64')}`]) {
      const wrong = await fetch(url, { headers: { authorization } })
      assert.equal(wrong.status, 401, authorization)
      const body = await wrong.text()
      assert.equal(body.includes('careid_'), false, 'no metrics')
      if (authorization.startsWith('Bearer')) {
        assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="careid-metrics", error="invalid_token"')
        assert.deepEqual(JSON.parse(body), { error: 'invalid_token', error_description: 'the metrics token is not valid' })
      } else {
        assert.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="careid-metrics"')
      }
    }

    const right = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(right.status, 200)
    assert.equal(right.headers.get('content-type'), prometheusText)
    assert.equal(right.headers.get('cache-control'), 'no-store')
    assert.match(await right.text(), /^# TYPE careid_backchannel_logout_total counter$/m)
  })

  it('with a port of its own, /metrics is served there on 127.0.0.1 and the main port answers 404 for it', async () => {
    const metricsPort = await freePort()
    const careid = await start({ metricsPort: String(metricsPort), metricsToken: undefined })

    const served = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    assert.equal(served.status, 200)
    assert.equal(served.headers.get('content-type'), prometheusText)
    assert.match(await served.text(), /^# TYPE careid_backchannel_logout_total counter$/m)
    const elsewhere = await fetch(`http://127.0.0.1:${metricsPort}/health`)
    assert.equal(elsewhere.status, 404, 'the metrics port serves /metrics alone')
    await elsewhere.body?.cancel()

    const main = await fetch(`${careid.origin}/metrics`)
    assert.equal(main.status, 404)
    assert.deepEqual(await main.json(), { error: 'not_found', error_description: 'no such endpoint' })
    assert.equal((await fetch(`${careid.origin}/health`)).status, 200, 'the main port serves everything else')
  })

  it('with a port of its own and a token, the metrics port asks for the token too', async () => {
    const token = randomBytes(32).toString('hex')
    const metricsPort = await freePort()
    await start({ metricsPort: String(metricsPort), metricsToken: token })
    const none = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    assert.equal(none.status, 401)
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="careid-metrics"')
    const right = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(right.status, 200)
    assert.match(await right.text(), /^# TYPE careid_backchannel_logout_total counter$/m)
  })

  it('given neither a port nor a token, /metrics is not served', async () => {
    const careid = await start({ metricsToken: undefined })
    const response = await fetch(`${careid.origin}/metrics`)
    assert.equal(response.status, 404)
    assert.deepEqual(await response.json(), { error: 'not_found', error_description: 'no such endpoint' })
  })
})

/** The counters an operator watches for attacks and outages, each series with its value. */
function outcomeSeries(text: string): Map<string, number> {
  const series = new Map<string, number>()
  for (const m of text.matchAll(/^(careid_(?:sign_ins|token_requests|oauth_errors)_total\{[^}]*\}) (\d+)$/gm)) series.set(m[1] as string, Number(m[2]))
  return series
}

/** The series that changed between two readings, and by how much. */
function changes(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const changed: Record<string, number> = {}
  for (const [key, value] of after) if (value !== (before.get(key) ?? 0)) changed[key] = value - (before.get(key) ?? 0)
  for (const key of before.keys()) if (!after.has(key)) changed[key] = -(before.get(key) as number)
  return changed
}

describe('what /metrics counts', () => {
  /** Password posts per username and address per minute: low, so the third is refused. */
  const signInRateLimit = 2
  let careid: TestCareid
  let rp: TestRp

  before(async () => {
    careid = await startTestCareid({ settings: { signInRateLimit: String(signInRateLimit) } })
    rp = await addRp(careid)
  })
  after(async () => {
    await careid?.close()
  })

  /** Runs `act` and returns the series it changed. */
  async function counted(act: () => Promise<void>): Promise<Record<string, number>> {
    const before = outcomeSeries(await careid.metrics())
    await act()
    return changes(before, outcomeSeries(await careid.metrics()))
  }

  /** The password form of a new sign-in journey (AAL1_USERPASS offers the password alone). */
  async function passwordForm(browser: Browser) {
    const landing = await browser.go(authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL1_USERPASS', state: 'st' }))
    assert.equal(landing.page?.status, 200)
    return form(landing.page as NonNullable<typeof landing.page>, '/authenticate')
  }

  it('a wrong password counts once as invalid_credentials, a right one once as success; a token issued counts once', async () => {
    const browser = new Browser(careid.origin)
    const f = await passwordForm(browser)
    const wrong = await counted(async () => {
      const landing = await browser.go(f.action, { form: { ...f.fields, username: singleRolePerson.username, password: `${singleRolePassword}-wrong` } })
      assert.equal(landing.page?.status, 400)
    })
    assert.deepEqual(wrong, { 'careid_sign_ins_total{method="password",result="invalid_credentials"}': 1 })

    let location: string | undefined
    const right = await counted(async () => {
      ;({ location } = await browser.go(f.action, { form: { ...f.fields, username: singleRolePerson.username, password: singleRolePassword } }))
      assert.ok(callbackParams(rp, location).has('code'))
    })
    assert.deepEqual(right, { 'careid_sign_ins_total{method="password",result="success"}': 1 })

    const issued = await counted(async () => {
      await redeem(rp, location)
    })
    assert.deepEqual(issued, { 'careid_token_requests_total{grant_type="authorization_code",result="issued"}': 1 })

    const replayed = await counted(async () => {
      const code = callbackParams(rp, location).get('code') as string
      const response = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, client_id: rp.client_id, client_secret: rp.client_secret })
      assert.equal(response.status, 400)
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_grant')
    })
    assert.deepEqual(replayed, {
      'careid_token_requests_total{grant_type="authorization_code",result="invalid_grant"}': 1,
      'careid_oauth_errors_total{endpoint="token",error="invalid_grant"}': 1,
    })
  })

  it('with the authenticator app, the password step counts nothing and a wrong code counts once as invalid_code', async () => {
    // Someone else than above: the sign-in rate limit counts per username.
    const person = demoWorkforce.find((p) => p.positions.length === 1 && p.uid !== singleRolePerson.uid)
    assert.ok(person)
    const browser = new Browser(careid.origin)
    const landing = await browser.go(authorizeUrl(rp, { scope: 'openid', acr_values: 'AAL2_TOTP', state: 'st' }))
    const f = form(landing.page as NonNullable<typeof landing.page>, '/authenticate')
    let codeForm = f
    const passwordStep = await counted(async () => {
      const next = await browser.go(f.action, { form: { ...f.fields, username: person.username, password: demoCredentials[person.uid]?.password as string } })
      assert.equal(next.page?.status, 200)
      assert.ok(next.page?.html.includes('name="code"'), 'the code page')
      codeForm = form(next.page as NonNullable<typeof next.page>, '/authenticate')
    })
    assert.deepEqual(passwordStep, {}, 'a step that leads to the next one is not an outcome')
    const current = await careid.totp(person.uid)
    const wrongCode = await counted(async () => {
      const next = await browser.go(codeForm.action, { form: { ...codeForm.fields, code: current === '000000' ? '111111' : '000000' } })
      assert.equal(next.page?.status, 400)
    })
    assert.deepEqual(wrongCode, { 'careid_sign_ins_total{method="totp",result="invalid_code"}': 1 })
  })

  function tokenRequest(fields: Record<string, string>): Promise<Response> {
    return fetch(`${baseUrl(careid)}/access_token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
  }

  it('refused token requests count by grant type and error, with unknown grant types and clients never named', async () => {
    const unknownGrant = `urn:example:${randomBytes(8).toString('hex')}`
    const unknownClient = `${randomInt(100_000_000_000, 999_999_999_999)}.apps.national`
    let text = ''
    const refused = await counted(async () => {
      const grant = await tokenRequest({ grant_type: unknownGrant, client_id: rp.client_id, client_secret: rp.client_secret })
      assert.equal(grant.status, 400)
      assert.equal(((await grant.json()) as { error: string }).error, 'unsupported_grant_type')
      const client = await tokenRequest({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: rp.redirect_uri, client_id: unknownClient, client_secret: 'x' })
      assert.equal(client.status, 401)
      assert.equal(((await client.json()) as { error: string }).error, 'invalid_client')
      text = await careid.metrics()
    })
    assert.deepEqual(refused, {
      'careid_token_requests_total{grant_type="other",result="unsupported_grant_type"}': 1,
      'careid_oauth_errors_total{endpoint="token",error="unsupported_grant_type"}': 1,
      'careid_token_requests_total{grant_type="authorization_code",result="invalid_client"}': 1,
      'careid_oauth_errors_total{endpoint="token",error="invalid_client"}': 1,
    })
    assert.equal(text.includes(unknownGrant), false, 'an unknown grant type is not a label')
    assert.equal(text.includes(unknownClient), false, 'nor an unknown client id')
  })

  it('a sign-in post over the rate limit counts as throttled, and an error sent to the redirect URI counts by its code', async () => {
    const browser = new Browser(careid.origin)
    const f = await passwordForm(browser)
    const username = `nobody.${randomBytes(4).toString('hex')}`
    // The posts must all count in one minute-long window of the sign-in rate limit.
    await windowWithRoom(60_000, 15_000)
    const posts = await counted(async () => {
      for (let i = 0; i <= signInRateLimit; i++) {
        const landing = await browser.go(f.action, { form: { ...f.fields, username, password: 'not-the-password' } })
        assert.equal(landing.page?.status, i < signInRateLimit ? 400 : 429)
      }
    })
    assert.deepEqual(posts, {
      'careid_sign_ins_total{method="password",result="invalid_credentials"}': signInRateLimit,
      'careid_sign_ins_total{method="other",result="throttled"}': 1,
      'careid_oauth_errors_total{endpoint="sign_in",error="invalid_request"}': 1,
    })
    const text = await careid.metrics()
    assert.equal(text.includes(username), false, 'a username is never a label')

    const noSession = await counted(async () => {
      const landing = await new Browser(careid.origin).go(authorizeUrl(rp, { scope: 'openid', prompt: 'none', state: 'st' }))
      assert.equal(callbackParams(rp, landing.location).get('error'), 'login_required')
    })
    assert.deepEqual(noSession, { 'careid_oauth_errors_total{endpoint="authorize",error="login_required"}': 1 })
  })

  it('passcodes guessed at a virtual card count as wrong_passcode, then card_locked, at the agent endpoints', async () => {
    const holder = demoWorkforce.find((p) => p.username === 'dentist.walker')
    assert.ok(holder)
    const { file } = await issueTestVirtualCard(careid, holder.uid, '263748')
    const guesses = await counted(async () => {
      const statuses = []
      for (let i = 0; i < 3; i++) statuses.push((await passcodeAttempt(careid, file, '111111')).response.status)
      assert.deepEqual(statuses, [401, 401, 403])
    })
    assert.deepEqual(guesses, {
      'careid_oauth_errors_total{endpoint="agent",error="wrong_passcode"}': 2,
      'careid_oauth_errors_total{endpoint="agent",error="card_locked"}': 1,
    })
  })
})
