import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { OAuthError, type ServiceRequest, type ServiceRoute } from '@careid/ports'
import { buildServiceServer } from '../src/service_server.ts'

/** Every route echoes what it was given, so each test sees exactly what a route sees. */
function echo(method: ServiceRoute['method'], path: string): ServiceRoute {
  return {
    method,
    path,
    handle: async (request: ServiceRequest) => ({
      status: 200,
      json: { params: request.params, query: request.query, body: request.body ?? null, contentType: request.contentType ?? null, header: request.header('x-request-id') ?? null },
    }),
  }
}

const routes: ServiceRoute[] = [
  echo('GET', '/things/:id'),
  echo('POST', '/form'),
  echo('PATCH', '/things/:id'),
  { method: 'GET', path: '/refuse', handle: async () => Promise.reject(new OAuthError('invalid_request', 'state is missing', 400, { fields: { message_id: 'm-1' } })) },
  { method: 'GET', path: '/fail', handle: async () => Promise.reject(new Error('database password is hunter2')) },
  { method: 'GET', path: '/go', handle: async () => ({ status: 302, headers: { location: 'https://app.example/cb?code=x' } }) },
  { method: 'GET', path: '/fhir', handle: async () => ({ status: 200, headers: { 'content-type': 'application/fhir+json', etag: 'W/"2"' }, json: { resourceType: 'Patient' } }) },
]

describe('the service server', () => {
  let app: FastifyInstance
  let base: string
  before(async () => {
    app = await buildServiceServer({ routes, baseUrl: 'http://127.0.0.1/' })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
  })
  after(async () => app.close())

  it('gives a route its path parameters, every value of a repeated query parameter, and headers', async () => {
    const response = await fetch(`${base}/things/9000000009?birthdate=ge2000-01-01&birthdate=le2010-12-31&family=Smith`, { headers: { 'x-request-id': 'abc' } })
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), {
      params: { id: '9000000009' },
      query: { birthdate: ['ge2000-01-01', 'le2010-12-31'], family: 'Smith' },
      body: null,
      contentType: null,
      header: 'abc',
    })
  })

  it('parses a form body, and names its media type without parameters', async () => {
    const response = await fetch(`${base}/form`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: 'grant_type=x&a=1' })
    const body = (await response.json()) as { body: unknown; contentType: string }
    assert.deepEqual(body.body, { grant_type: 'x', a: '1' })
    assert.equal(body.contentType, 'application/x-www-form-urlencoded')
  })

  it('parses JSON Patch (a +json type) as JSON', async () => {
    const patch = [{ op: 'replace', path: '/gender', value: 'female' }]
    const response = await fetch(`${base}/things/1`, { method: 'PATCH', headers: { 'content-type': 'application/json-patch+json' }, body: JSON.stringify(patch) })
    const body = (await response.json()) as { body: unknown; contentType: string }
    assert.deepEqual(body.body, patch)
    assert.equal(body.contentType, 'application/json-patch+json')
  })

  it('hands a route any other type as its raw text, for the route to refuse in its own words', async () => {
    const response = await fetch(`${base}/form`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'grant_type=x' })
    const body = (await response.json()) as { body: unknown; contentType: string }
    assert.equal(body.body, 'grant_type=x')
    assert.equal(body.contentType, 'text/plain')
  })

  it('answers malformed JSON with a 400 invalid_request, not a stack trace', async () => {
    const response = await fetch(`${base}/things/1`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '[{' })
    assert.equal(response.status, 400)
    assert.deepEqual(await response.json(), { error: 'invalid_request', error_description: 'malformed request' })
  })

  it('renders a thrown refusal with its status, code, text and fields, never cached', async () => {
    const response = await fetch(`${base}/refuse`)
    assert.equal(response.status, 400)
    assert.equal(response.headers.get('cache-control'), 'no-store')
    assert.deepEqual(await response.json(), { error: 'invalid_request', error_description: 'state is missing', message_id: 'm-1' })
  })

  it('answers anything unexpected with a fixed server_error text that reveals nothing', async () => {
    const response = await fetch(`${base}/fail`)
    assert.equal(response.status, 500)
    const text = await response.text()
    assert.equal(JSON.parse(text).error, 'server_error')
    assert.doesNotMatch(text, /hunter2/)
  })

  it('sends a redirect without a body, and a route’s own content type and headers', async () => {
    const redirect = await fetch(`${base}/go`, { redirect: 'manual' })
    assert.equal(redirect.status, 302)
    assert.equal(redirect.headers.get('location'), 'https://app.example/cb?code=x')
    const fhir = await fetch(`${base}/fhir`)
    assert.equal(fhir.headers.get('content-type'), 'application/fhir+json; charset=utf-8')
    assert.equal(fhir.headers.get('etag'), 'W/"2"')
    assert.equal(fhir.headers.get('x-content-type-options'), 'nosniff')
    assert.deepEqual(await fhir.json(), { resourceType: 'Patient' })
  })

  it('answers an unknown path with the JSON 404', async () => {
    const response = await fetch(`${base}/nothing-here`)
    assert.equal(response.status, 404)
    assert.equal(((await response.json()) as { error: string }).error, 'not_found')
  })
})
