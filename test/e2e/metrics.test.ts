/**
 * /metrics for operators: who may read it (a listener of its own, a bearer token, or not served at
 * all), and what it counts so that an attack or an outage shows: sign-ins by method and result,
 * token requests by grant type and result, and refusals by endpoint and error code, with only
 * known values as labels (never a username, a client id or a token).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { freePort, startTestCareid, type TestCareid } from '../support/careid.ts'

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
