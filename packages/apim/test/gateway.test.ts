import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { randomToken, sha256 } from '@careid/oidc'
import type { ApiGrantPattern, ApiGrantUser, GatewayApi, GatewayRefusal, ServiceRequest, ServiceResponse, ServiceRoute, Store } from '@careid/ports'
import { buildServiceServer } from '@careid/http'
import { openSqliteStore } from '@careid/store/sqlite'
import { gatewayRoutes, sampleAal3Api, type GatewayDeps, type GatewayRefusalEntry } from '../src/index.ts'

const T = 1_700_000_000_000
const HOUR = 3_600_000
const pdsAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:personal-demographics-service'
const pdsAal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'
const pdsLevel3 = 'urn:nhsd:apim:app:level3:personal-demographics-service'
const sampleAal3 = 'urn:nhsd:apim:user-nhs-cis2:aal3:sample-aal3-api'
const SYSTEM = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode'
const ROLE_A = '555254242105'
const ROLE_B = '555254242106'
const OTHER_PERSONS_ROLE = '656014452101'
const REQUEST_ID = '60E0B220-8136-4CA5-AE46-1D97EF59D068'
const CORRELATION_ID = '11C46F5F-CDEF-4865-94B2-0EE0EDCC26DA'

/** A small API behind the gateway that maps no refusal: it answers who called. */
const testApi: GatewayApi = {
  product: 'personal-demographics-service',
  basePath: '/test-api/FHIR/R4',
  routes: [
    {
      method: 'GET',
      path: '/whoami',
      handle: async (_request, caller) => ({ status: 200, headers: { 'x-api': 'test' }, json: { caller } }),
    },
  ],
}

/** An API with its own mapping of the gateway's refusals (as PDS has). */
const mappedApi: GatewayApi = {
  product: 'sample-aal3-api',
  basePath: '/mapped',
  routes: [{ method: 'GET', path: '/hello', handle: async () => ({ status: 200, json: { hello: true } }) }],
  refuse: (refusal: GatewayRefusal) => ({ status: 418, headers: { 'content-type': 'application/json' }, json: { mapped: refusal.kind } }),
}

let store: Store
let now = T
const logged: GatewayRefusalEntry[] = []
const deps = (): GatewayDeps => ({ store, now: () => now, log: { refused: (entry) => logged.push(entry) } })
let routes: ServiceRoute[]

before(async () => {
  store = await openSqliteStore({ path: ':memory:' })
  routes = gatewayRoutes([testApi, sampleAal3Api, mappedApi], deps())
})
after(() => store.close())

interface GrantOptions {
  apiKey?: string
  pattern?: ApiGrantPattern
  scope?: string
  user?: ApiGrantUser | undefined
  expiresAt?: number
  /** The products the application subscribes to (stored as the application). */
  subscribes?: string[]
}

function worker(changes: Partial<ApiGrantUser> = {}): ApiGrantUser {
  return { sub: '910000000001', sid: `sid-${randomUUID()}`, aal: 3, acr: 'AAL3_ANY', role_ids: [ROLE_A, ROLE_B], ...changes }
}

/** Issues a platform grant and its access token straight into the store; returns the token. */
async function issue(options: GrantOptions = {}): Promise<{ token: string; apiKey: string; sid: string | undefined }> {
  const apiKey = options.apiKey ?? randomToken(16)
  const pattern = options.pattern ?? 'combined'
  const user = 'user' in options ? options.user : pattern === 'client_credentials' ? undefined : worker()
  const grantId = randomUUID()
  const token = randomToken(32)
  const expiresAt = options.expiresAt ?? T + 599_000
  await store.apiGrants.issue(
    { grant_id: grantId, api_key: apiKey, pattern, scope: options.scope ?? pdsAal3, user, authenticated_at: T, refresh_until: T + 12 * HOUR, created_at: T, expires_at: expiresAt },
    [{ token_hash: sha256(token), grant_id: grantId, kind: 'access', refresh_count: 0, created_at: T, expires_at: expiresAt }],
  )
  if (options.subscribes !== undefined) {
    await store.apps.put({
      api_key: apiKey,
      name: 'Ward rounds',
      secret_hash: sha256(randomToken()),
      callback_urls: ['https://ward.example/callback'],
      subscriptions: options.subscribes.map((product) => ({ product, scopes: [] })),
      created_at: T,
    })
  }
  return { token, apiKey, sid: user?.sid }
}

function request(path: string, headers: Record<string, string>): ServiceRequest {
  const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
  return { method: 'GET', params: {}, query: {}, body: undefined, contentType: undefined, header: (name) => lower.get(name.toLowerCase()), ip: '127.0.0.1', url: path }
}

async function call(path: string, headers: Record<string, string>): Promise<ServiceResponse> {
  const route = routes.find((candidate) => candidate.method === 'GET' && candidate.path === path)
  assert.ok(route, `no route ${path}`)
  return route.handle(request(path, headers))
}

const whoami = '/test-api/FHIR/R4/whoami'
const hello = '/sample-aal3-api/hello'

function bearer(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: `Bearer ${token}`, 'X-Request-ID': REQUEST_ID, ...extra }
}

/** The exact OperationOutcome body of one issue, as the platform writes it. */
function outcome(code: string, spineCode: string, display: string, diagnostics: string): unknown {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { coding: [{ system: SYSTEM, version: '1', code: spineCode, display }] }, diagnostics }] }
}

function assertRefusal(response: ServiceResponse, status: number, body: unknown): void {
  assert.equal(response.status, status)
  assert.equal(response.headers?.['content-type'], 'application/fhir+json')
  assert.deepStrictEqual(response.json, body)
}

const accessDenied = (diagnostics: string) => outcome('forbidden', 'ACCESS_DENIED', 'Access Denied - Unauthorised', diagnostics)

async function assertRole(token: string, header: string | undefined, diagnostics: string): Promise<void> {
  const response = await call(whoami, bearer(token, header === undefined ? {} : { 'NHSD-Session-URID': header }))
  assertRefusal(response, 401, accessDenied(diagnostics))
}

async function assertCallerRole(token: string, header: string | undefined, roleId: string): Promise<void> {
  const response = await call(whoami, bearer(token, header === undefined ? {} : { 'NHSD-Session-URID': header }))
  assert.equal(response.status, 200)
  assert.equal((response.json as { caller: { roleId: string } }).caller.roleId, roleId)
}

describe('the gateway: the platform token', () => {
  it('hands a healthcare worker caller to the API, mounted at its base path, with the API headers kept', async () => {
    const { token, apiKey, sid } = await issue()
    const response = await call(whoami, bearer(token, { 'NHSD-Session-URID': ROLE_B }))
    assert.equal(response.status, 200)
    assert.equal(response.headers?.['x-api'], 'test')
    assert.deepStrictEqual(response.json, {
      caller: { mode: 'healthcare_worker', apiKey, scopes: [pdsAal3], sub: '910000000001', sid, aal: 3, roleId: ROLE_B },
    })
    assert.deepStrictEqual(
      routes.map((route) => `${route.method} ${route.path}`),
      ['GET /test-api/FHIR/R4/whoami', 'GET /sample-aal3-api/hello', 'GET /mapped/hello'],
    )
  })

  it('refuses a request without an Authorization header', async () => {
    assertRefusal(await call(whoami, { 'X-Request-ID': REQUEST_ID }), 401, accessDenied('Missing Authorization header'))
  })

  it('refuses an empty Authorization header', async () => {
    assertRefusal(await call(whoami, { Authorization: '', 'X-Request-ID': REQUEST_ID }), 401, accessDenied('Empty Authorization header'))
  })

  it('refuses a header with a scheme and no token', async () => {
    assertRefusal(await call(whoami, { Authorization: 'Bearer', 'X-Request-ID': REQUEST_ID }), 401, accessDenied('Missing access token'))
  })

  it('refuses another scheme, naming it but never the credentials', async () => {
    const { token } = await issue()
    const response = await call(whoami, { Authorization: `Basic ${token}`, 'X-Request-ID': REQUEST_ID })
    assertRefusal(response, 401, accessDenied("Invalid token type 'Basic', must be 'Bearer'"))
    assert.equal(JSON.stringify(response).includes(token), false)
    // The scheme is compared exactly, as the platform does.
    assertRefusal(await call(whoami, { Authorization: `bearer ${token}`, 'X-Request-ID': REQUEST_ID }), 401, accessDenied("Invalid token type 'bearer', must be 'Bearer'"))
  })

  it('refuses an empty token', async () => {
    assertRefusal(await call(whoami, { Authorization: 'Bearer ', 'X-Request-ID': REQUEST_ID }), 401, accessDenied('Invalid access token'))
  })

  it('refuses a malformed token without looking it up', async () => {
    assertRefusal(await call(whoami, { Authorization: 'Bearer not$a"token', 'X-Request-ID': REQUEST_ID }), 401, accessDenied('Invalid Access Token'))
    assertRefusal(await call(whoami, { Authorization: `Bearer ${'a'.repeat(600)}`, 'X-Request-ID': REQUEST_ID }), 401, accessDenied('Invalid Access Token'))
    const { token } = await issue()
    assertRefusal(await call(whoami, { Authorization: `Bearer ${token} extra`, 'X-Request-ID': REQUEST_ID }), 401, accessDenied('Invalid Access Token'))
  })

  it('refuses an unknown token, and a refresh token used as an access token', async () => {
    assertRefusal(await call(whoami, bearer(randomToken(32))), 401, accessDenied('Invalid Access Token'))
    const grantId = randomUUID()
    const refresh = randomToken(32)
    await store.apiGrants.issue(
      { grant_id: grantId, api_key: randomToken(16), pattern: 'combined', scope: pdsAal3, user: worker(), authenticated_at: T, refresh_until: T + 12 * HOUR, created_at: T, expires_at: T + 12 * HOUR },
      [{ token_hash: sha256(refresh), grant_id: grantId, kind: 'refresh', refresh_count: 0, created_at: T, expires_at: T + 12 * HOUR }],
    )
    assertRefusal(await call(whoami, bearer(refresh)), 401, accessDenied('Invalid Access Token'))
  })

  it('refuses an expired token as expired', async () => {
    const { token } = await issue({ expiresAt: T + 1000 })
    now = T + 1000
    try {
      assertRefusal(await call(whoami, bearer(token)), 401, accessDenied('Access Token expired'))
    } finally {
      now = T
    }
  })

  it('refuses a token whose grant was revoked (CIS2 ended the session)', async () => {
    const { token, sid } = await issue()
    assert.equal((await call(whoami, bearer(token, { 'NHSD-Session-URID': ROLE_A }))).status, 200)
    assert.equal(await store.apiGrants.revokeBySid(sid!, T), 1)
    assertRefusal(await call(whoami, bearer(token, { 'NHSD-Session-URID': ROLE_A })), 401, accessDenied('Invalid Access Token'))
  })

  it("refuses a token without any of the product's scopes", async () => {
    const { token } = await issue({ scope: sampleAal3, subscribes: ['sample-aal3-api'] })
    assertRefusal(await call(whoami, bearer(token, { 'NHSD-Session-URID': ROLE_A })), 401, accessDenied('Invalid API call as no apiproduct match found'))
  })
})

describe('the gateway: a product only an AAL3 sign-in may use', () => {
  const challenge = 'Bearer error="insufficient_user_authentication", error_description="A sign-in at AAL3 is required to use this API", acr_values="AAL3_ANY"'

  it('answers an AAL2 sign-in of a subscribed application with 401 and the RFC 9470 challenge', async () => {
    // The platform keeps only the scopes of the sign-in's level: an AAL2 token holds no aal3 scope.
    const { token } = await issue({ scope: pdsAal2, user: worker({ aal: 2, acr: 'AAL2_OR_AAL3_ANY', role_ids: [ROLE_A] }), subscribes: ['personal-demographics-service', 'sample-aal3-api'] })
    const response = await call(hello, bearer(token))
    assertRefusal(response, 401, accessDenied('A sign-in at AAL3 is required to use this API'))
    assert.equal(response.headers?.['www-authenticate'], challenge)
    // PDS accepts the same AAL2 token.
    assert.equal((await call(whoami, bearer(token))).status, 200)
  })

  it('refuses an AAL2 sign-in of an application not subscribed to the product as out of scope, without a challenge', async () => {
    const { token } = await issue({ scope: pdsAal2, user: worker({ aal: 2, role_ids: [ROLE_A] }), subscribes: ['personal-demographics-service'] })
    const response = await call(hello, bearer(token))
    assertRefusal(response, 401, accessDenied('Invalid API call as no apiproduct match found'))
    assert.equal(response.headers?.['www-authenticate'], undefined)
  })

  it('lets an AAL3 sign-in through, and says who called', async () => {
    const { token, apiKey } = await issue({ scope: `${pdsAal3} ${sampleAal3}`, user: worker({ role_ids: [ROLE_A] }), subscribes: ['personal-demographics-service', 'sample-aal3-api'] })
    const response = await call(hello, bearer(token, { 'X-Correlation-ID': CORRELATION_ID }))
    assert.equal(response.status, 200)
    assert.deepStrictEqual(response.json, { message: 'Hello from the sample AAL3 API', mode: 'healthcare_worker', apiKey, sub: '910000000001', roleId: ROLE_A, aal: 3 })
    assert.equal(response.headers?.['x-request-id'], REQUEST_ID)
    assert.equal(response.headers?.['x-correlation-id'], CORRELATION_ID)
  })

  it("sets the challenge even when the API answers the refusal with its own body", async () => {
    const { token } = await issue({ scope: pdsAal2, user: worker({ aal: 2, role_ids: [ROLE_A] }), subscribes: ['personal-demographics-service', 'sample-aal3-api'] })
    const response = await call('/mapped/hello', bearer(token, { 'X-Correlation-ID': CORRELATION_ID }))
    assert.equal(response.status, 418)
    assert.deepStrictEqual(response.json, { mapped: 'insufficient_user_authentication' })
    assert.deepStrictEqual(response.headers, { 'content-type': 'application/json', 'www-authenticate': challenge, 'x-request-id': REQUEST_ID, 'x-correlation-id': CORRELATION_ID })
  })
})

describe('the gateway: the per-application rate limit', () => {
  const tooMany = outcome(
    'throttled',
    'TOO_MANY_REQUESTS',
    'Too many requests',
    'Your application has created a spike in traffic and is being rate limited. Please reduce the frequency of your requests. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details.',
  )

  it('answers the sixth request in one second with 429 and Retry-After, while another application is unaffected', async () => {
    const first = await issue({ user: worker({ role_ids: [ROLE_A] }) })
    const other = await issue({ user: worker({ role_ids: [ROLE_A] }) })
    now = T + 100
    try {
      for (let i = 1; i <= 5; i++) assert.equal((await call(whoami, bearer(first.token))).status, 200, `request ${i}`)
      const sixth = await call(whoami, bearer(first.token, { 'X-Correlation-ID': CORRELATION_ID }))
      assertRefusal(sixth, 429, tooMany)
      assert.equal(sixth.headers?.['retry-after'], '1')
      assert.equal(sixth.headers?.['x-request-id'], REQUEST_ID)
      assert.equal(sixth.headers?.['x-correlation-id'], CORRELATION_ID)
      assert.equal((await call(whoami, bearer(other.token))).status, 200)
      // The next second starts afresh.
      now = T + 1000
      assert.equal((await call(whoami, bearer(first.token))).status, 200)
    } finally {
      now = T
    }
  })

  it('counts one application with two tokens as one, and honours a configured limit', async () => {
    const limited = gatewayRoutes([testApi], { ...deps(), rateLimit: { perSecond: 2 } })
    const apiKey = randomToken(16)
    const a = await issue({ apiKey, user: worker({ role_ids: [ROLE_A] }) })
    const b = await issue({ apiKey, user: worker({ role_ids: [ROLE_A] }) })
    const route = limited[0]!
    now = T + 3000
    try {
      assert.equal((await route.handle(request(whoami, bearer(a.token)))).status, 200)
      assert.equal((await route.handle(request(whoami, bearer(b.token)))).status, 200)
      assertRefusal(await route.handle(request(whoami, bearer(a.token))), 429, tooMany)
    } finally {
      now = T
    }
  })

  it('does not count a request whose token is refused', async () => {
    const { token } = await issue({ user: worker({ role_ids: [ROLE_A] }) })
    now = T + 5000
    try {
      for (let i = 0; i < 6; i++) await call(whoami, { Authorization: `Basic ${token}` })
      for (let i = 1; i <= 5; i++) assert.equal((await call(whoami, bearer(token))).status, 200, `request ${i}`)
    } finally {
      now = T
    }
  })

  it('refuses a rate limit that is not a whole number of at least one', () => {
    assert.throws(() => gatewayRoutes([testApi], { ...deps(), rateLimit: { perSecond: 0 } }), /at least 1/)
    assert.throws(() => gatewayRoutes([{ ...testApi, product: 'no-such-product' }], deps()), /no API product "no-such-product"/)
  })
})

describe('the gateway: X-Request-ID', () => {
  it('refuses a request id that is not a UUID', async () => {
    const { token } = await issue({ user: worker({ role_ids: [ROLE_A] }) })
    const response = await call(whoami, { Authorization: `Bearer ${token}`, 'X-Request-ID': '1234' })
    assertRefusal(response, 400, outcome('value', 'INVALID_VALUE', 'Provided value is invalid', "Invalid value - '1234' in header 'X-Request-ID'"))
    assert.equal(response.headers?.['x-request-id'], '1234')
  })

  it('refuses an empty request id as not a UUID', async () => {
    const { token } = await issue({ user: worker({ role_ids: [ROLE_A] }) })
    const response = await call(whoami, { Authorization: `Bearer ${token}`, 'X-Request-ID': '' })
    assertRefusal(response, 400, outcome('value', 'INVALID_VALUE', 'Provided value is invalid', "Invalid value - '' in header 'X-Request-ID'"))
    assert.equal(response.headers?.['x-request-id'], undefined)
  })

  it('refuses a request without one', async () => {
    const { token } = await issue({ user: worker({ role_ids: [ROLE_A] }) })
    const response = await call(whoami, { Authorization: `Bearer ${token}`, 'X-Correlation-ID': CORRELATION_ID })
    assertRefusal(response, 400, outcome('required', 'MISSING_VALUE', 'Required value is missing', 'Invalid request with error - X-Request-ID header must be supplied to access this resource'))
    assert.deepStrictEqual(response.headers, { 'content-type': 'application/fhir+json', 'x-correlation-id': CORRELATION_ID })
  })

  it('checks them in the PDS proxy order: the token first, a malformed id before the role, a missing id after it', async () => {
    assertRefusal(await call(whoami, { 'X-Request-ID': 'nope' }), 401, accessDenied('Missing Authorization header'))
    const { token } = await issue()
    assertRefusal(await call(whoami, { Authorization: `Bearer ${token}`, 'X-Request-ID': 'nope' }), 400, outcome('value', 'INVALID_VALUE', 'Provided value is invalid', "Invalid value - 'nope' in header 'X-Request-ID'"))
    assertRefusal(await call(whoami, { Authorization: `Bearer ${token}` }), 401, accessDenied('multiple roles found in user info, please check NHSD-Session-URID'))
  })
})

describe('the gateway: role resolution (cis2.md 6.4)', () => {
  it("takes the NHSD-Session-URID header when it names one of the worker's roles", async () => {
    const { token } = await issue({ user: worker({ selected_roleid: ROLE_A }) })
    await assertCallerRole(token, ROLE_B, ROLE_B)
  })

  it("refuses a header naming another person's role", async () => {
    await issue({ user: worker({ role_ids: [OTHER_PERSONS_ROLE] }) })
    const { token } = await issue()
    await assertRole(token, OTHER_PERSONS_ROLE, 'NHSD-Session-URID is invalid')
  })

  it('refuses a header that is not a role at all', async () => {
    const { token } = await issue()
    await assertRole(token, 'notAuserRole123', 'NHSD-Session-URID is invalid')
  })

  it('takes selected_roleid without a header', async () => {
    const { token } = await issue({ user: worker({ selected_roleid: ROLE_B }) })
    await assertCallerRole(token, undefined, ROLE_B)
  })

  it("refuses a selected_roleid that is not one of the worker's roles", async () => {
    const { token } = await issue({ user: worker({ selected_roleid: OTHER_PERSONS_ROLE }) })
    await assertRole(token, undefined, 'selected_roleid is misconfigured/invalid')
  })

  it('takes the only role of a worker with one, an empty header counting as none', async () => {
    const { token } = await issue({ user: worker({ role_ids: [ROLE_A] }) })
    await assertCallerRole(token, undefined, ROLE_A)
    await assertCallerRole(token, '', ROLE_A)
  })

  it('refuses several roles without a header or selected_roleid', async () => {
    const { token } = await issue()
    await assertRole(token, undefined, 'multiple roles found in user info, please check NHSD-Session-URID')
  })

  it('refuses a worker with no roles', async () => {
    const { token } = await issue({ user: worker({ role_ids: [] }) })
    await assertRole(token, undefined, 'no userroles available, please check NHSD-Session-URID is valid')
  })

  it('refuses roles that cannot be used', async () => {
    const { token } = await issue({ user: worker({ role_ids: [ROLE_A, ''] }) })
    await assertRole(token, ROLE_A, 'nhsid_nrbac_roles is misconfigured/invalid')
  })

  it('refuses a separate-pattern token with neither header nor selected_roleid', async () => {
    const { token } = await issue({ pattern: 'token_exchange', user: worker({ role_ids: undefined }) })
    await assertRole(token, undefined, 'selected_roleid is missing in your token')
  })

  it("takes a separate-pattern token's selected_roleid, and a header only when it names that role", async () => {
    const { token } = await issue({ pattern: 'token_exchange', user: worker({ role_ids: undefined, selected_roleid: ROLE_B }) })
    await assertCallerRole(token, undefined, ROLE_B)
    await assertCallerRole(token, ROLE_B, ROLE_B)
    await assertRole(token, ROLE_A, 'NHSD-Session-URID is invalid')
  })

  it('gives an application-restricted token no role, whatever header it sends', async () => {
    const { token, apiKey } = await issue({ pattern: 'client_credentials', scope: pdsLevel3 })
    const response = await call(whoami, bearer(token, { 'NHSD-Session-URID': 'notAuserRole123' }))
    assert.equal(response.status, 200)
    assert.deepStrictEqual(response.json, { caller: { mode: 'application', apiKey, scopes: [pdsLevel3] } })
  })

  it('hands the role failure and the header to an API that maps it', async () => {
    const seen: GatewayRefusal[] = []
    const [route] = gatewayRoutes([{ ...testApi, refuse: (refusal) => (seen.push(refusal), { status: 400, json: {} }) }], deps())
    const { token } = await issue()
    await route!.handle(request(whoami, bearer(token, { 'NHSD-Session-URID': 'notAuserRole123' })))
    await route!.handle(request(whoami, bearer(token)))
    assert.deepStrictEqual(seen, [
      { kind: 'role', failure: 'urid_invalid', headerValue: 'notAuserRole123' },
      { kind: 'role', failure: 'multiple_roles', headerValue: undefined },
    ])
  })
})

describe('the gateway: request ids echoed and refusals logged', () => {
  it('echoes X-Request-ID and X-Correlation-ID on success and on every refusal, and logs no token or header value', async () => {
    const ids = { 'X-Request-ID': REQUEST_ID, 'X-Correlation-ID': CORRELATION_ID }
    const valid = await issue()
    const expired = await issue({ expiresAt: T - 1 })
    const outOfScope = await issue({ scope: sampleAal3 })
    const aal2 = await issue({ scope: pdsAal2, user: worker({ aal: 2 }), subscribes: ['sample-aal3-api'] })
    const busy = await issue()
    now = T + 7000
    try {
      for (let i = 0; i < 5; i++) await call(whoami, bearer(busy.token, { 'NHSD-Session-URID': ROLE_A }))
      const cases: Array<[string, string, Record<string, string>, number, Omit<GatewayRefusalEntry, 'product' | 'status'> | undefined]> = [
        ['success', whoami, { Authorization: `Bearer ${valid.token}`, 'NHSD-Session-URID': ROLE_A }, 200, undefined],
        ['no token', whoami, {}, 401, { kind: 'access_denied' }],
        ['expired', whoami, { Authorization: `Bearer ${expired.token}` }, 401, { kind: 'access_denied' }],
        ['scope', whoami, { Authorization: `Bearer ${outOfScope.token}` }, 401, { kind: 'insufficient_scope' }],
        ['aal', hello, { Authorization: `Bearer ${aal2.token}` }, 401, { kind: 'insufficient_user_authentication' }],
        ['rate', whoami, { Authorization: `Bearer ${busy.token}`, 'NHSD-Session-URID': ROLE_A }, 429, { kind: 'rate_limited' }],
        ['role', whoami, { Authorization: `Bearer ${valid.token}`, 'NHSD-Session-URID': OTHER_PERSONS_ROLE }, 401, { kind: 'role', failure: 'urid_invalid' }],
      ]
      for (const [name, path, headers, status, entry] of cases) {
        logged.length = 0
        const response = await call(path, { ...ids, ...headers })
        assert.equal(response.status, status, name)
        assert.equal(response.headers?.['x-request-id'], REQUEST_ID, name)
        assert.equal(response.headers?.['x-correlation-id'], CORRELATION_ID, name)
        const product = path === hello ? 'sample-aal3-api' : 'personal-demographics-service'
        assert.deepStrictEqual(logged, entry === undefined ? [] : [{ product, ...entry, status }], name)
        const line = JSON.stringify(logged)
        for (const secret of [valid.token, expired.token, outOfScope.token, aal2.token, busy.token, OTHER_PERSONS_ROLE, REQUEST_ID, CORRELATION_ID]) assert.equal(line.includes(secret), false, name)
      }
    } finally {
      now = T
    }
  })

  it('echoes them on the request id refusals too, and logs those', async () => {
    const { token } = await issue({ user: worker({ role_ids: [ROLE_A] }) })
    logged.length = 0
    const invalid = await call(whoami, { Authorization: `Bearer ${token}`, 'X-Request-ID': 'abc', 'X-Correlation-ID': CORRELATION_ID })
    assert.deepStrictEqual(invalid.headers, { 'content-type': 'application/fhir+json', 'x-request-id': 'abc', 'x-correlation-id': CORRELATION_ID })
    const missing = await call(whoami, { Authorization: `Bearer ${token}`, 'X-Correlation-ID': CORRELATION_ID })
    assert.deepStrictEqual(missing.headers, { 'content-type': 'application/fhir+json', 'x-correlation-id': CORRELATION_ID })
    assert.deepStrictEqual(logged, [
      { product: 'personal-demographics-service', kind: 'invalid_request_id', status: 400 },
      { product: 'personal-demographics-service', kind: 'missing_request_id', status: 400 },
    ])
  })
})

describe('the gateway served on the platform origin', () => {
  it('answers over HTTP with the challenge, the echoed ids and the FHIR JSON of a refusal, and the caller on success', async () => {
    const app = await buildServiceServer({ routes, baseUrl: 'http://127.0.0.1/' })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const aal2 = await issue({ scope: pdsAal2, user: worker({ aal: 2, role_ids: [ROLE_A] }), subscribes: ['sample-aal3-api'] })
      const refused = await fetch(`${base}/sample-aal3-api/hello`, { headers: { authorization: `Bearer ${aal2.token}`, 'x-request-id': REQUEST_ID, 'x-correlation-id': CORRELATION_ID } })
      assert.equal(refused.status, 401)
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="insufficient_user_authentication", error_description="A sign-in at AAL3 is required to use this API", acr_values="AAL3_ANY"')
      assert.equal(refused.headers.get('content-type'), 'application/fhir+json; charset=utf-8')
      assert.equal(refused.headers.get('x-request-id'), REQUEST_ID)
      assert.equal(refused.headers.get('x-correlation-id'), CORRELATION_ID)
      assert.deepStrictEqual(await refused.json(), accessDenied('A sign-in at AAL3 is required to use this API'))

      const aal3 = await issue({ scope: sampleAal3, user: worker(), subscribes: ['sample-aal3-api'] })
      const served = await fetch(`${base}/sample-aal3-api/hello`, { headers: { authorization: `Bearer ${aal3.token}`, 'x-request-id': REQUEST_ID, 'nhsd-session-urid': ROLE_B } })
      assert.equal(served.status, 200)
      assert.equal(served.headers.get('x-request-id'), REQUEST_ID)
      assert.deepStrictEqual(await served.json(), { message: 'Hello from the sample AAL3 API', mode: 'healthcare_worker', apiKey: aal3.apiKey, sub: '910000000001', roleId: ROLE_B, aal: 3 })
    } finally {
      await app.close()
    }
  })
})
