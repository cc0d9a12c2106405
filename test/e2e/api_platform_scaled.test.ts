/**
 * The API Platform and its Patient API scaled out: two Careid nodes, each serving the provider and
 * the platform, on one PostgreSQL schema and one Redis with one issuer and key-encryption key,
 * behind two round-robin proxies as a load balancer would put them: one is the provider's origin
 * (the issuer), the other the platform's (`--api-base-url`). Every request through a proxy goes to
 * the other node than the one before, and the proxies' logs say which node answered what, so each
 * step below is shown to work whichever node takes it:
 * - the combined pattern: authorize on one node, callback on the other, the token on either;
 * - the token exchange and application-restricted access, and a client assertion's `jti` replayed
 *   at the other node refused;
 * - ten concurrent refreshes of one refresh token over both nodes: exactly one wins;
 * - Patient reads and searches with one token on both nodes; an update on one node makes the old
 *   ETag stale on the other;
 * - the worker signing out at the provider revokes the platform's tokens on both nodes;
 * - the per-application rate limit counts the calls of both nodes together.
 * The nodes run in this process, each with its own context, pools and caches; the platform and the
 * Patient API keep nothing at module level, so what one node knows of another's work came through
 * PostgreSQL and Redis.
 */
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import pg from 'pg'
import { registerApplication } from '@careid/apim'
import { currentTotpCode } from '@careid/authenticators'
import type { Person } from '@careid/domain'
import { registerClient, sha256 } from '@careid/oidc'
import { generatePopulation } from '@careid/pds'
import type { PatientRecord } from '@careid/ports'
import { keyPair, sign, type KeyPair } from '../../packages/apim/test/support/token_endpoint.ts'
import { cis2RealmPath, resolveSettings } from '../../packages/cli/src/settings.ts'
import { startCareid, type RunningCareid } from '../../packages/cli/src/start.ts'
import * as services from '../../packages/store/test/support/services.ts'
import { Browser, form } from '../support/browser.ts'
import { freePort } from '../support/careid.ts'
import { password, person } from '../support/demo_people.ts'
import { signIn } from '../support/journey.ts'
import { windowWithRoom } from '../support/rate_windows.ts'
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round_robin_proxy.ts'

const pdsAal2 = 'urn:nhsd:apim:user-nhs-cis2:aal2:personal-demographics-service'
const pdsLevel3 = 'urn:nhsd:apim:app:level3:personal-demographics-service'
const jwtBearer = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
const tokenExchange = 'urn:ietf:params:oauth:grant-type:token-exchange'
const idTokenType = 'urn:ietf:params:oauth:token-type:id_token'
const spineCodes = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode'
/** The nodes' per-application limit, low so that a few calls reach it. */
const perSecond = 3
const callback = 'https://ward.example.test/callback'
/** Any one request: long enough for a busy machine, short enough that a hang fails the test. */
const requestTimeoutMs = 20_000
/** The demo population's size: enough patients to search among, quick to seed. */
const populationSize = 100

const postgres = await services.ensurePostgres()
const redis = await services.ensureRedis()

type Json = Record<string, unknown>

interface Answer {
  status: number
  headers: Headers
  body: Json
  /** Which node answered (0 or 1), from the proxy's log. */
  node: number | undefined
}

function fetchWithin(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(requestTimeoutMs), ...init })
}

/** Which node answered the last request `proxy` passed on (the requests of a test are sequential). */
function lastNode(proxy: RoundRobinProxy): number | undefined {
  return proxy.log.at(-1)?.upstream
}

/** `body` without its `message_id`, which is a fresh UUID in every refusal. */
function withoutMessageId(body: Json): Json {
  assert.match(String(body.message_id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  const { message_id: _, ...rest } = body
  return rest
}

/** The OperationOutcome PDS answers with. */
function outcome(code: string, spineCode: string, display: string, diagnostics?: string): Json {
  const issue: Json = { severity: 'error', code, details: { coding: [{ system: spineCodes, version: '1', code: spineCode, display }] } }
  if (diagnostics !== undefined) issue.diagnostics = diagnostics
  return { resourceType: 'OperationOutcome', issue: [issue] }
}

/** A patient of the demo population that a search by family name and birth date finds alone. */
function searchablePatient(): PatientRecord {
  const { records } = generatePopulation({ size: populationSize })
  const found = records.find(
    (r) => r.status === 'active' && !r.restricted && r.resource.deceasedDateTime === undefined && records.filter((o) => o.family === r.family && o.birth_date === r.birth_date).length === 1,
  )
  assert.ok(found, 'the demo population has a patient a search finds alone')
  return found
}

describe('two Careid nodes behind round-robin proxies: the API Platform and the Patient API on PostgreSQL and Redis', { skip: postgres.available ? (redis.available ? false : redis.reason) : postgres.reason, timeout: 120_000 }, () => {
  const schema = `careid_test_${randomBytes(6).toString('hex')}`
  const kek = randomBytes(32).toString('base64url')
  const dirs: string[] = []
  const nodes: RunningCareid[] = []
  /** The provider's origin (the issuer's) and the platform's. */
  let providerProxy: RoundRobinProxy
  let apiProxy: RoundRobinProxy
  let issuer: string
  let tokenUrl: string
  const patient = searchablePatient()
  const patientUrl = () => `${apiProxy.origin}/personal-demographics/FHIR/R4/Patient/${patient.nhs_number}`

  /** An application registered as `careid apps add` registers it, with its private key. */
  interface App {
    apiKey: string
    secret: string
    key: KeyPair
  }
  let clinicalApp: App
  let backOfficeApp: App
  /** The combined pattern's worker and tokens, kept for the steps after. */
  const worker = person('nurse.jones')
  const role = worker.positions[0]?.person_roleid as string
  let workerBrowser: Browser
  let combined: Record<string, string>
  /** The access token of the refresh that won. */
  let refreshedAccessToken: string

  async function addApp(scopes: string[]): Promise<App> {
    const key = await keyPair('RS512', `app-key-${randomUUID()}`)
    const { application, secret } = registerApplication({ name: 'Ward rounds', callback_urls: [callback], scopes, jwks: { keys: [key.jwk] } }, Date.now())
    await (nodes[0] as RunningCareid).context.store.apps.put(application)
    return { apiKey: application.api_key, secret, key }
  }

  /** A client assertion of `app`'s, for the platform's token URL, with a fresh jti. */
  function assertion(app: App): Promise<string> {
    return sign({ iss: app.apiKey, sub: app.apiKey, aud: tokenUrl, jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 300 }, { alg: 'RS512', typ: 'JWT', kid: app.key.kid }, app.key.privateKey)
  }

  /** The current authenticator-app code of `p`, from the shared store. */
  async function totp(p: Person): Promise<string> {
    const { context } = nodes[0] as RunningCareid
    const credential = (await context.store.credentials.listByPerson(p.uid)).find((c) => c.kind === 'totp')
    assert.ok(credential, `${p.username} has an authenticator app`)
    return currentTotpCode(context.secrets.open(credential.secret), Date.now())
  }

  async function postToken(fields: Record<string, string>): Promise<Answer> {
    const response = await fetchWithin(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
    return { status: response.status, headers: response.headers, body: (await response.json()) as Json, node: lastNode(apiProxy) }
  }

  /** Calls made per application in a one-second window of the rate limit (the latest window it was used in). */
  const calls = new Map<string, { window: number; count: number }>()
  const windowOf = (ms: number) => Math.floor(ms / 1000)

  /**
   * A call to the Patient API through the platform's proxy. Steps that are not about the rate
   * limit keep under it: once an application has made its calls of a window, or the window is
   * nearly over, they wait for the next.
   */
  async function api(path: string, token: string, apiKey: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    const seen = calls.get(apiKey)
    if (seen !== undefined && seen.window === windowOf(Date.now()) && seen.count >= perSecond) await windowWithRoom(1000, 1000)
    await windowWithRoom(1000, 200)
    const sent = windowOf(Date.now())
    const response = await fetchWithin(`${apiProxy.origin}/personal-demographics/FHIR/R4${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID(), ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
    })
    const text = await response.text()
    // The node counted the call when it handled it: in the window it was sent in, or, if the answer
    // came in the next, perhaps in that one, where it is counted to be safe.
    const answered = windowOf(Date.now())
    const before = calls.get(apiKey)
    calls.set(apiKey, { window: answered, count: answered === sent && before?.window === sent ? before.count + 1 : 1 })
    return { status: response.status, headers: response.headers, body: (text === '' ? {} : JSON.parse(text)) as Json, node: lastNode(apiProxy) }
  }

  /** A call of the combined pattern's worker, in the role chosen at sign-in. */
  function asWorker(path: string, token: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    return api(path, token, clinicalApp.apiKey, { ...init, headers: { 'nhsd-session-urid': role, ...init.headers } })
  }

  /** Where each node listens: the provider's port and the platform's, behind the two proxies. */
  const upstreams: { provider: string[]; api: string[] } = { provider: [], api: [] }

  async function startNode(demo: boolean): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), 'careid-api-scaled-'))
    dirs.push(dataDir)
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: postgres.available ? postgres.url : '',
      REDIS_URL: redis.available ? redis.url : '',
      CAREID_DATABASE_SCHEMA: schema,
      CAREID_KEY_ENCRYPTION_KEY: kek,
      CAREID_DEMO: String(demo),
    }
    const port = new URL(upstreams.provider[nodes.length] as string).port
    const apiPort = new URL(upstreams.api[nodes.length] as string).port
    const settings = resolveSettings(
      { port, apiPort, host: '127.0.0.1', dataDir, issuer, apiBaseUrl: apiProxy.origin, apiRateLimit: String(perSecond), logLevel: 'silent' },
      env,
    )
    const node = await startCareid(settings, { logoutRetryBaseMs: 50 }, { demoPopulation: { size: populationSize } })
    nodes.push(node)
  }

  before(async () => {
    for (let i = 0; i < 2; i++) {
      upstreams.provider.push(`http://127.0.0.1:${await freePort()}`)
      upstreams.api.push(`http://127.0.0.1:${await freePort()}`)
    }
    providerProxy = await startRoundRobinProxy(upstreams.provider)
    apiProxy = await startRoundRobinProxy(upstreams.api)
    issuer = `${providerProxy.origin}${cis2RealmPath}`
    tokenUrl = `${apiProxy.origin}/oauth2/token`
    // The first node seeds the demo (workforce, population); the second starts on what it stored.
    await startNode(true)
    await startNode(false)
    clinicalApp = await addApp([pdsAal2])
    backOfficeApp = await addApp([pdsLevel3])
  })

  after(async () => {
    for (const node of nodes) await node.stop()
    await providerProxy?.close()
    await apiProxy?.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    if (!postgres.available || !redis.available) return
    const admin = new pg.Client({ connectionString: postgres.url })
    await admin.connect()
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
    const client = new Redis(redis.url)
    const keys = await client.keys(`careid:${schema}:*`)
    if (keys.length > 0) await client.del(...keys)
    await client.quit()
  })

  it('the combined pattern: authorize on one node, the callback on the other, the token on either', async () => {
    workerBrowser = new Browser(providerProxy.origin)
    const query = new URLSearchParams({ response_type: 'code', client_id: clinicalApp.apiKey, redirect_uri: callback, state: 'ward-state', acr_values: 'AAL2_TOTP' })
    const started = await workerBrowser.fetch(`${apiProxy.origin}/oauth2/authorize?${query}`)
    await started.body?.cancel()
    assert.equal(started.status, 302)
    const authorizeNode = lastNode(apiProxy)
    const cis2 = new URL(started.headers.get('location') as string)
    assert.equal(`${cis2.origin}${cis2.pathname}`, `${issuer}/authorize`)

    const providerRequests = providerProxy.log.length
    const { location } = await signIn(workerBrowser, cis2.href, { username: worker.username, password: password(worker), method: 'totp', code: () => totp(worker), role })
    // The sign-in's requests went to both provider nodes.
    assert.deepEqual(new Set(providerProxy.log.slice(providerRequests).map((entry) => entry.upstream)), new Set([0, 1]))
    const platformCallback = new URL(location)
    assert.equal(`${platformCallback.origin}${platformCallback.pathname}`, `${apiProxy.origin}/oauth2/callback`)

    const back = await workerBrowser.fetch(platformCallback.href)
    await back.body?.cancel()
    assert.equal(back.status, 302)
    const callbackNode = lastNode(apiProxy)
    assert.notEqual(callbackNode, authorizeNode, 'the callback was taken by the other node than the authorization request')
    const appRedirect = new URL(back.headers.get('location') as string)
    assert.equal(`${appRedirect.origin}${appRedirect.pathname}`, callback)
    assert.equal(appRedirect.searchParams.get('state'), 'ward-state')

    const token = await postToken({ grant_type: 'authorization_code', code: appRedirect.searchParams.get('code') as string, redirect_uri: callback, client_id: clinicalApp.apiKey, client_secret: clinicalApp.secret })
    assert.equal(token.status, 200, JSON.stringify(token.body))
    assert.deepEqual(Object.keys(token.body), ['access_token', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'refresh_count', 'token_type', 'sid'])
    assert.equal(token.body.expires_in, '599')
    assert.equal(token.body.refresh_count, '0')
    combined = token.body as Record<string, string>

    // The same code again, at the other node: redeemed once only.
    const again = await postToken({ grant_type: 'authorization_code', code: appRedirect.searchParams.get('code') as string, redirect_uri: callback, client_id: clinicalApp.apiKey, client_secret: clinicalApp.secret })
    assert.notEqual(again.node, token.node)
    assert.equal(again.status, 400)
    assert.deepEqual(withoutMessageId(again.body), { error: 'invalid_grant', error_description: 'authorization_code is invalid' })

    // CIS2's userinfo through the platform, with the CIS2 access token the callback's node sealed, on both nodes.
    for (let i = 0; i < 2; i++) {
      const userinfo = await fetchWithin(`${apiProxy.origin}/oauth2/userinfo`, { headers: { authorization: `Bearer ${combined.access_token}` } })
      assert.equal(userinfo.status, 200)
      assert.equal(((await userinfo.json()) as { sub: string }).sub, worker.uid)
    }
  })

  it('the token exchange and application-restricted access through the proxy; a client assertion\'s jti replayed at the other node is refused', async () => {
    // The application's own CIS2 sign-in, through the provider's proxy, for the ID token it exchanges.
    const redirect_uri = 'https://ward.example.test/cis2'
    const { client, client_secret } = registerClient({ client_name: 'Ward rounds (CIS2)', redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' }, Date.now())
    await (nodes[1] as RunningCareid).context.store.clients.put(client)
    const doctor = person('dr.hughes')
    const browser = new Browser(providerProxy.origin)
    const query = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri, scope: 'openid nationalrbacaccess selectedrole', acr_values: 'AAL2_TOTP', state: 's', nonce: 'n' })
    // The role chosen at sign-in is the ID token's selected_roleid: the one role the exchanged grant acts in.
    const doctorRole = doctor.positions[0]?.person_roleid as string
    const { location } = await signIn(browser, `${issuer}/authorize?${query}`, { username: doctor.username, password: password(doctor), method: 'totp', code: () => totp(doctor), role: doctorRole })
    const code = new URL(location).searchParams.get('code') as string
    const cis2Tokens = await fetchWithin(`${issuer}/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri, client_id: client.client_id, client_secret: client_secret as string }).toString(),
    })
    assert.equal(cis2Tokens.status, 200)
    const { id_token } = (await cis2Tokens.json()) as { id_token: string }

    const exchanged = await postToken({ grant_type: tokenExchange, subject_token_type: idTokenType, subject_token: id_token, client_assertion_type: jwtBearer, client_assertion: await assertion(clinicalApp) })
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body))
    assert.equal(exchanged.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token')
    assert.equal(exchanged.body.expires_in, '599')
    // Its access token opens the Patient API on both nodes.
    const read = [await api(`/Patient/${patient.nhs_number}`, exchanged.body.access_token as string, clinicalApp.apiKey)]
    read.push(await api(`/Patient/${patient.nhs_number}`, exchanged.body.access_token as string, clinicalApp.apiKey))
    assert.deepEqual(new Set(read.map((r) => r.node)), new Set([0, 1]))
    for (const r of read) {
      assert.equal(r.status, 200, JSON.stringify(r.body))
      assert.equal(r.body.id, patient.nhs_number)
    }

    const signed = await assertion(backOfficeApp)
    const first = await postToken({ grant_type: 'client_credentials', client_assertion_type: jwtBearer, client_assertion: signed })
    assert.equal(first.status, 200, JSON.stringify(first.body))
    assert.deepEqual(Object.keys(first.body), ['access_token', 'expires_in', 'token_type', 'issued_at'])
    assert.equal(first.body.expires_in, '599')
    const replayed = await postToken({ grant_type: 'client_credentials', client_assertion_type: jwtBearer, client_assertion: signed })
    assert.notEqual(replayed.node, first.node, 'the replay went to the other node')
    assert.equal(replayed.status, 400)
    assert.deepEqual(withoutMessageId(replayed.body), { error: 'invalid_request', error_description: "Non-unique 'jti' claim in client_assertion JWT" })
  })

  it('ten concurrent refreshes of one refresh token over both nodes: exactly one 200, nine 401 "refresh_token is invalid"', async () => {
    const before = apiProxy.log.length
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => postToken({ grant_type: 'refresh_token', refresh_token: combined.refresh_token as string, client_id: clinicalApp.apiKey, client_secret: clinicalApp.secret })),
    )
    const served = apiProxy.log.slice(before).map((entry) => entry.upstream)
    assert.equal(served.filter((n) => n === 0).length, 5)
    assert.equal(served.filter((n) => n === 1).length, 5)
    const won = answers.filter((a) => a.status === 200)
    assert.equal(won.length, 1, JSON.stringify(answers.map((a) => [a.status, a.body])))
    assert.equal(won[0]?.body.refresh_count, '1')
    for (const lost of answers.filter((a) => a.status !== 200)) {
      assert.equal(lost.status, 401)
      assert.deepEqual(withoutMessageId(lost.body), { error: 'invalid_grant', error_description: 'refresh_token is invalid' })
    }
    refreshedAccessToken = won[0]?.body.access_token as string
    // The winner's refresh token goes on, at either node.
    const next = await postToken({ grant_type: 'refresh_token', refresh_token: won[0]?.body.refresh_token as string, client_id: clinicalApp.apiKey, client_secret: clinicalApp.secret })
    assert.equal(next.status, 200)
    assert.equal(next.body.refresh_count, '2')
  })

  it('reads and searches with one token on both nodes; a PATCH on one node makes the old ETag stale on the other', async () => {
    const token = combined.access_token as string
    const read = await asWorker(`/Patient/${patient.nhs_number}`, token)
    const family = (patient.resource.name as { family: string }[])[0]?.family as string
    const search = await asWorker(`/Patient?${new URLSearchParams({ family, birthdate: `eq${patient.birth_date}` })}`, token)
    assert.notEqual(read.node, search.node)
    assert.equal(read.status, 200)
    assert.equal(read.body.id, patient.nhs_number)
    const etag = read.headers.get('etag') as string
    assert.equal(etag, `W/"${patient.version}"`)
    assert.equal(search.status, 200, JSON.stringify(search.body))
    assert.deepEqual(
      (search.body.entry as { resource: { id: string }; search: { score: number } }[]).map((e) => [e.resource.id, e.search.score]),
      [[patient.nhs_number, 1]],
    )

    const patch = (value: string, ifMatch: string) =>
      asWorker(`/Patient/${patient.nhs_number}`, token, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json-patch+json', 'if-match': ifMatch },
        body: JSON.stringify({ patches: [{ op: 'replace', path: '/name/0/given/0', value }] }),
      })
    const updated = await patch('Rosalind', etag)
    assert.equal(updated.status, 200, JSON.stringify(updated.body))
    const newEtag = `W/"${patient.version + 1}"`
    assert.equal(updated.headers.get('etag'), newEtag)
    const stale = await patch('Dorothy', etag)
    assert.notEqual(stale.node, updated.node, 'the stale update went to the other node')
    assert.equal(stale.status, 409)
    assert.deepEqual(stale.body, outcome('conflict', 'RESOURCE_VERSION_MISMATCH', 'Resource version supplied does not match actual version'))

    const reads = [await asWorker(`/Patient/${patient.nhs_number}`, token), await asWorker(`/Patient/${patient.nhs_number}`, token)]
    assert.deepEqual(new Set(reads.map((r) => r.node)), new Set([0, 1]))
    for (const r of reads) {
      assert.equal(r.status, 200)
      assert.equal(r.headers.get('etag'), newEtag)
      assert.equal((r.body.meta as { versionId: string }).versionId, String(patient.version + 1))
      assert.equal((r.body.name as { given: string[] }[])[0]?.given[0], 'Rosalind')
    }
  })

  it('the worker signing out at the provider revokes the platform\'s tokens, refreshed ones included, on both nodes', async () => {
    const token = refreshedAccessToken
    const live = [await asWorker(`/Patient/${patient.nhs_number}`, token), await asWorker(`/Patient/${patient.nhs_number}`, token)]
    for (const r of live) assert.equal(r.status, 200)

    const out = await workerBrowser.go(`${issuer}/connect/endSession`)
    assert.ok(out.page)
    const confirm = form(out.page, '/endSession')
    assert.equal((await workerBrowser.go(confirm.action, { form: confirm.fields })).page?.status, 200)
    // The provider's outbox delivers the logout token to the platform's back-channel endpoint, through its proxy.
    const { store } = (nodes[0] as RunningCareid).context
    const deadline = Date.now() + 15_000
    while ((await store.apiGrants.findAccess(sha256(token), Date.now())) !== undefined) {
      assert.ok(Date.now() < deadline, 'the grant was revoked within 15 s')
      await sleep(50)
    }
    const delivered = apiProxy.log.filter((entry) => entry.method === 'POST' && entry.url === '/oauth2/backchannel_logout')
    assert.equal(delivered.filter((entry) => entry.status === 200).length, 1, 'the logout was delivered once')

    for (const revoked of [token, combined.access_token as string]) {
      const answers = [await asWorker(`/Patient/${patient.nhs_number}`, revoked), await asWorker(`/Patient/${patient.nhs_number}`, revoked)]
      assert.deepEqual(new Set(answers.map((r) => r.node)), new Set([0, 1]))
      for (const r of answers) {
        assert.equal(r.status, 401)
        assert.deepEqual(r.body, outcome('forbidden', 'ACCESS_DENIED', 'Access Denied - Unauthorised', 'Invalid Access Token'))
      }
    }
  })

  it('the per-application rate limit counts the calls of both nodes together: the fourth in a second is 429', async () => {
    const issued = await postToken({ grant_type: 'client_credentials', client_assertion_type: jwtBearer, client_assertion: await assertion(backOfficeApp) })
    assert.equal(issued.status, 200)
    const token = issued.body.access_token as string
    await windowWithRoom(1000, 700)
    const started = Date.now()
    const answers: Answer[] = []
    for (let i = 0; i < perSecond + 1; i++) {
      const response = await fetchWithin(patientUrl(), { headers: { authorization: `Bearer ${token}`, 'x-request-id': randomUUID() } })
      answers.push({ status: response.status, headers: response.headers, body: (await response.json()) as Json, node: lastNode(apiProxy) })
    }
    assert.equal(windowOf(Date.now()), windowOf(started), 'the calls were sent and answered within one window')
    for (let i = 1; i < answers.length; i++) assert.notEqual(answers[i]?.node, answers[i - 1]?.node, 'each call went to the other node')
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429])
    for (const served of answers.slice(0, perSecond)) assert.equal(served.body.id, patient.nhs_number)
    const limited = answers[perSecond] as Answer
    assert.equal(limited.headers.get('retry-after'), '1')
    assert.deepEqual(
      limited.body,
      outcome(
        'value',
        'TOO_MANY_REQUESTS',
        'Too many requests',
        'This API is currently receiving a high volume of requests and is being rate limited. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details.',
      ),
    )
  })
})
