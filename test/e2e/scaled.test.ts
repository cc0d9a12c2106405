/**
 * Careid scaled out: two nodes in this process sharing one PostgreSQL schema (and one Redis), as
 * behind a load balancer with the same issuer and key-encryption key. A sign-in whose steps
 * alternate between the nodes; changes made through one node (a client added, a key rotated) heard
 * on the other through the event bus; and outages: while Redis or PostgreSQL is stopped the nodes
 * answer 503 `temporarily_unavailable` with Retry-After (never a 500, never a hang) and /ready
 * says 503, and once it is back they serve again without a restart.
 *
 * Each part runs in a fresh schema (`CAREID_DATABASE_SCHEMA`, which also prefixes the Redis keys and
 * names the event channel), dropped afterwards. The outages stop PostgreSQL or Redis, so they run
 * on private servers on free ports (test/support/private_servers.ts): the machine's shared
 * servers, which other suites use, are never stopped.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import pg from 'pg'
import { registerClient } from '@careid/oidc'
import type { CareidEvent } from '@careid/ports'
import { addClient } from '../../packages/cli/src/commands/clients.ts'
import { rotateKeys } from '../../packages/cli/src/commands/keys.ts'
import { resolveSettings } from '../../packages/cli/src/settings.ts'
import { startCareid, type RunningCareid } from '../../packages/cli/src/start.ts'
import * as services from '../../packages/store/test/support/services.ts'
import { Browser } from '../support/browser.ts'
import { freePort } from '../support/careid.ts'
import { signIn } from '../support/journey.ts'
import { privateServersMissing, startPrivatePostgres, startPrivateRedis, type PrivateServer } from '../support/private_servers.ts'
import { password as demoPassword, someoneWithFewRoles } from '../support/demo_people.ts'

const realmPath = '/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'
/** The one issuer both nodes serve, as the load balancer in front of them would be addressed. */
const issuer = `http://careid.lb.test${realmPath}`
/** Shared by the nodes of a deployment, so each can open the signing keys the other made. */
const kek = randomBytes(32).toString('base64url')
const person = someoneWithFewRoles()
const password = demoPassword(person)
const role = person.positions[1]?.person_roleid as string
/** Any one request: long enough for a busy machine, short enough that a hang fails the test. */
const requestTimeoutMs = 20_000

const postgres = await services.ensurePostgres()
const redis = await services.ensureRedis()
const privateMissing = await privateServersMissing()

interface Node extends RunningCareid {
  origin: string
  /** Where the issuer's paths are served on this node. */
  base: string
  close(): Promise<void>
}

interface Rp {
  client_id: string
  client_secret: string
  redirect_uri: string
}

function fetchWithin(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(requestTimeoutMs), ...init })
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` until it holds, failing with `what` after `timeoutMs`. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`)
    await sleep(200)
  }
}

async function readyStatus(node: Node): Promise<number> {
  const response = await fetchWithin(`${node.origin}/ready`)
  await response.body?.cancel()
  return response.status
}

/** Resolves when `node` hears an event that matches; subscribe before causing it. */
function heard(node: Node, match: (event: CareidEvent) => boolean, timeoutMs = 10_000): Promise<CareidEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`the event was not heard within ${timeoutMs} ms`))
    }, timeoutMs)
    const stop = node.context.events.subscribe((event) => {
      if (!match(event)) return
      clearTimeout(timer)
      stop()
      resolve(event)
    })
  })
}

/** A relying party registered straight in a node's store (the store is shared). */
async function registerRp(node: Node): Promise<Rp> {
  const redirect_uri = `https://rp${randomBytes(4).toString('hex')}.example.test/callback`
  const { client, client_secret } = registerClient({ client_name: 'Ward app', redirect_uris: [redirect_uri], token_endpoint_auth_method: 'client_secret_post' }, Date.now())
  await node.context.store.clients.put(client)
  return { client_id: client.client_id, client_secret: client_secret as string, redirect_uri }
}

function authorizeUrl(node: Node, rp: Rp, state: string): string {
  const url = new URL(`${node.base}/authorize`)
  for (const [key, value] of Object.entries({ response_type: 'code', client_id: rp.client_id, redirect_uri: rp.redirect_uri, scope: 'openid profile nationalrbacaccess selectedrole', acr_values: 'AAL1_USERPASS', state, nonce: `n-${state}` })) {
    url.searchParams.set(key, value)
  }
  return url.href
}

/** The authorization request on `authorizeOn`, every sign-in page on `pagesOn`; returns the code. */
async function signInAcross(rp: Rp, authorizeOn: Node, pagesOn: Node): Promise<string> {
  const state = randomBytes(6).toString('hex')
  const browser = new Browser(pagesOn.origin)
  const started = await browser.fetch(authorizeUrl(authorizeOn, rp, state))
  await started.body?.cancel()
  assert.equal(started.status, 302, 'the authorization request starts a sign-in')
  const journey = new URL(started.headers.get('location') ?? '', authorizeOn.origin)
  assert.ok(journey.pathname.startsWith(`${realmPath}/interaction/`), journey.href)
  const { location, pages } = await signIn(browser, `${pagesOn.origin}${journey.pathname}`, { username: person.username, password, method: 'password', role })
  assert.ok(pages.length >= 2, 'the password and role pages were shown')
  for (const page of pages) assert.ok(page.url.startsWith(pagesOn.origin), `${page.url} is served by the other node`)
  const callback = new URL(location)
  assert.equal(`${callback.origin}${callback.pathname}`, rp.redirect_uri, location)
  assert.equal(callback.searchParams.get('state'), state)
  const code = callback.searchParams.get('code')
  assert.ok(code !== null, location)
  return code
}

async function redeem(node: Node, rp: Rp, code: string): Promise<Response> {
  return fetchWithin(`${node.base}/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, client_id: rp.client_id, client_secret: rp.client_secret }).toString(),
  })
}

/** Authorize on A, sign-in pages on B, token on A, userinfo on B; returns the ID token's claims. */
async function fullSignIn(a: Node, b: Node, rp: Rp): Promise<Record<string, unknown>> {
  const code = await signInAcross(rp, a, b)
  const response = await redeem(a, rp, code)
  const tokens = (await response.json()) as { id_token: string; access_token: string }
  assert.equal(response.status, 200, JSON.stringify(tokens))
  const jwks = (await (await fetchWithin(`${b.base}/connect/jwk_uri`)).json()) as JSONWebKeySet
  const { payload } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), { issuer, audience: rp.client_id, algorithms: ['RS256'] })
  assert.equal(payload.sub, person.uid)
  assert.equal(payload.selected_roleid, role)
  const userinfo = await fetchWithin(`${b.base}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  const claims = (await userinfo.json()) as Record<string, unknown>
  assert.equal(userinfo.status, 200, JSON.stringify(claims))
  assert.equal(claims.sub, person.uid)
  assert.equal(claims.selected_roleid, role)
  return payload
}

/**
 * After an outage: the background work runs again, and B hears A's events again once both buses
 * have reconnected (events published while one was away are lost, as designed, so this retries).
 */
async function assertRecovered(a: Node, b: Node): Promise<void> {
  await a.provider.maintain()
  await b.provider.maintain()
  await eventually('B hearing A\'s events again', async () => {
    const clientId = `${randomBytes(6).readUIntBE(0, 6).toString().padStart(12, '0').slice(-12)}.apps.national`
    const change = heard(b, (event) => event.type === 'client.changed' && event.client_id === clientId, 1000)
    await a.context.events.publish({ type: 'client.changed', client_id: clientId }).catch(() => undefined)
    await change
    return true
  })
}

/** A sign-in journey started on `node`: the path of its first page. */
async function startJourney(node: Node, rp: Rp): Promise<string> {
  const response = await fetchWithin(authorizeUrl(node, rp, 'journey'))
  await response.body?.cancel()
  assert.equal(response.status, 302)
  return new URL(response.headers.get('location') ?? '', node.origin).pathname
}

/**
 * While the store is down: the token endpoint, authorize, a sign-in page (of a journey started
 * before) and /ready say so, on both nodes.
 */
async function assertUnavailable(a: Node, b: Node, rp: Rp, journey: string, authorize: 'redirect' | 'page'): Promise<void> {
  for (const node of [a, b]) {
    const token = await redeem(node, rp, 'a-code-that-needs-the-store')
    assert.equal(token.status, 503)
    assert.equal(token.headers.get('retry-after'), '1')
    assert.equal((await token.json() as { error: string }).error, 'temporarily_unavailable')
    assert.equal(await readyStatus(node), 503)
    const page = await fetchWithin(`${node.origin}${journey}`)
    assert.equal(page.status, 503)
    assert.equal(page.headers.get('retry-after'), '1')
    assert.match(await page.text(), /temporarily_unavailable/)
  }
  const state = 'during-the-outage'
  const response = await fetchWithin(authorizeUrl(b, rp, state))
  if (authorize === 'redirect') {
    // The client is known (its record is in PostgreSQL), so the error goes to its redirect URI.
    await response.body?.cancel()
    assert.equal(response.status, 302)
    const back = new URL(response.headers.get('location') ?? '')
    assert.equal(`${back.origin}${back.pathname}`, rp.redirect_uri)
    assert.equal(back.searchParams.get('error'), 'temporarily_unavailable')
    assert.equal(back.searchParams.get('state'), state)
  } else {
    // The client itself cannot be looked up, so the redirect URI cannot be trusted: a page.
    assert.equal(response.status, 503)
    assert.equal(response.headers.get('retry-after'), '1')
    assert.match(await response.text(), /temporarily_unavailable/)
  }
}

/**
 * Two nodes on a fresh schema of `postgresUrl()` (and Redis, if given): A seeds the demo data, B
 * starts without it. The URLs are asked for when a node starts, once the servers are up.
 */
function deployment(postgresUrl: () => string, redisUrl: () => string | undefined) {
  const schema = `careid_test_${randomBytes(6).toString('hex')}`
  const nodes: Node[] = []
  const dirs: string[] = []

  async function start(options: { demo: boolean; kek?: string }): Promise<Node> {
    const dataDir = mkdtempSync(join(tmpdir(), 'careid-scaled-'))
    dirs.push(dataDir)
    const port = await freePort()
    const origin = `http://localhost:${port}`
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: postgresUrl(),
      CAREID_DATABASE_SCHEMA: schema,
      CAREID_KEY_ENCRYPTION_KEY: options.kek ?? kek,
      CAREID_DEMO: String(options.demo),
      ...(redisUrl() === undefined ? {} : { REDIS_URL: redisUrl() }),
    }
    // The API Platform's port too: the default, the next one, may be taken by then.
    const settings = resolveSettings({ port: String(port), apiPort: String(await freePort()), host: 'localhost', dataDir, issuer, logLevel: 'silent' }, env)
    const running = await startCareid(settings, { logoutRetryBaseMs: 50 })
    const node: Node = { ...running, origin, base: `${origin}${realmPath}`, close: () => running.stop() }
    nodes.push(node)
    return node
  }

  async function cleanup(): Promise<void> {
    for (const node of nodes) await node.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    const admin = new pg.Client({ connectionString: postgresUrl() })
    admin.on('error', () => {})
    await admin.connect()
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await admin.end()
    const redisAt = redisUrl()
    if (redisAt !== undefined) {
      const client = new Redis(redisAt)
      const keys = await client.keys(`careid:${schema}:*`)
      if (keys.length > 0) await client.del(...keys)
      await client.quit()
    }
  }

  /** A and B, and a relying party registered through A. */
  async function twoNodes(): Promise<{ a: Node; b: Node; rp: Rp }> {
    const a = await start({ demo: true })
    const b = await start({ demo: false })
    return { a, b, rp: await registerRp(a) }
  }

  return { start, twoNodes, cleanup }
}

function sharedPostgresUrl(): string {
  assert.ok(postgres.available)
  return postgres.url
}

if (!postgres.available) {
  // A skipped test rather than a skipped suite: node's summary counts it, so the gap shows.
  it('Careid scaled out on PostgreSQL', { skip: postgres.reason }, () => {})
} else {
  if (redis.available) withRedis(redis.url)
  else it('Careid scaled out on PostgreSQL and Redis', { skip: redis.reason }, () => {})
  postgresAlone()
}
if (privateMissing !== undefined) it('Careid scaled out, through PostgreSQL and Redis outages', { skip: privateMissing }, () => {})
else outages()

function withRedis(redisUrl: string): void {
  describe('two Careid nodes on PostgreSQL and Redis', () => {
    const deployed = deployment(sharedPostgresUrl, () => redisUrl)
    let a: Node
    let b: Node
    let rp: Rp
    before(async () => ({ a, b, rp } = await deployed.twoNodes()))
    after(() => deployed.cleanup())

    it('signs in across the nodes: authorize on A, the pages on B, token on A, userinfo on B', async () => {
      const claims = await fullSignIn(a, b, rp)
      // Ending the session on B is announced to every node.
      const ended = heard(a, (event) => event.type === 'session.ended' && event.sid === claims.sid)
      await b.provider.sessions.endBySid(String(claims.sid), 'logout')
      await ended
    })

    it('a client added through A is usable on B at once: B hears of it', async () => {
      const clientId = `${String(Date.now()).slice(-12).padStart(12, '0')}.apps.national`
      // B has looked the id up and cached "unknown" (for a second).
      assert.equal(await b.provider.clients.get(clientId), undefined)
      const change = heard(b, (event) => event.type === 'client.changed' && event.client_id === clientId)
      const printed: string[] = []
      await addClient(a.context, { name: 'Late app', redirectUri: ['https://late.example.test/cb'], authMethod: 'client_secret_post', clientId }, (s) => printed.push(s))
      await change
      // B's own subscription ran before the test's: the stale "unknown" is gone.
      assert.equal((await b.provider.clients.get(clientId))?.client_name, 'Late app')
      const response = await fetchWithin(`${b.base}/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: 'https://late.example.test/cb', scope: 'openid', acr_values: 'AAL1_USERPASS' })}`)
      await response.body?.cancel()
      assert.equal(response.status, 302)
      assert.match(response.headers.get('location') ?? '', /\/interaction\//)
    })

    it('a key rotated on A is published by B before it signs', async () => {
      const signing = b.context.keys.activeKid()
      const rotated = heard(b, (event) => event.type === 'keys.rotated')
      const printed: string[] = []
      await rotateKeys(a.context, (s) => printed.push(s))
      await rotated
      const next = a.context.keys.list().find((k) => k.state === 'next')
      assert.ok(next, printed.join('\n'))
      await eventually('the new key in B\'s JWKS', async () => {
        const jwks = (await (await fetchWithin(`${b.base}/connect/jwk_uri`)).json()) as { keys: { kid: string }[] }
        return jwks.keys.some((k) => k.kid === next.kid)
      }, 10_000)
      assert.equal(b.context.keys.activeKid(), signing, 'B still signs with the old key')
      assert.equal(a.context.keys.activeKid(), signing, 'A still signs with the old key')
    })
  })
}

function postgresAlone(): void {
  describe('two Careid nodes on PostgreSQL alone', () => {
    const deployed = deployment(sharedPostgresUrl, () => undefined)
    let a: Node
    let b: Node
    let rp: Rp
    before(async () => ({ a, b, rp } = await deployed.twoNodes()))
    after(() => deployed.cleanup())

    it('signs in across the nodes, and hears changes through LISTEN/NOTIFY', async () => {
      await fullSignIn(a, b, rp)
      const clientId = `${String(Date.now() + 1).slice(-12).padStart(12, '0')}.apps.national`
      const change = heard(b, (event) => event.type === 'client.changed' && event.client_id === clientId)
      await addClient(a.context, { name: 'Listening app', redirectUri: ['https://listen.example.test/cb'], authMethod: 'client_secret_post', clientId }, () => {})
      await change
    })

    it('a node given another key-encryption key refuses to start, saying why', async () => {
      await assert.rejects(
        deployed.start({ demo: false, kek: randomBytes(32).toString('base64url') }),
        /this node cannot open the stored signing keys .*Every node that shares a database must be given the same CAREID_KEY_ENCRYPTION_KEY/,
      )
    })
  })
}

/** Servers of their own for the outages, started once for both deployments below. */
function outages(): void {
  describe('two Careid nodes through outages, on private PostgreSQL and Redis', () => {
    let privatePostgres: PrivateServer | undefined
    let privateRedis: PrivateServer | undefined
    const privateUrl = (server: PrivateServer | undefined) => server?.url ?? assert.fail('the private servers did not start')
    before(async () => {
      privatePostgres = await startPrivatePostgres()
      privateRedis = await startPrivateRedis()
    })
    after(async () => {
      await privatePostgres?.discard()
      await privateRedis?.discard()
    })

    describe('on PostgreSQL and Redis', () => {
      const deployed = deployment(() => privateUrl(privatePostgres), () => privateUrl(privateRedis))
      let a: Node
      let b: Node
      let rp: Rp
      before(async () => ({ a, b, rp } = await deployed.twoNodes()))
      after(() => deployed.cleanup())

      it('while Redis is down: 503 temporarily_unavailable and /ready 503; serves again once it is back', async () => {
        const journey = await startJourney(a, rp)
        try {
          await (privateRedis as PrivateServer).stop()
          await eventually('Redis stopping', async () => (await readyStatus(a)) === 503, 10_000)
          await assertUnavailable(a, b, rp, journey, 'redirect')
        } finally {
          await (privateRedis as PrivateServer).start()
        }
        await eventually('both nodes ready again', async () => (await readyStatus(a)) === 200 && (await readyStatus(b)) === 200)
        await fullSignIn(a, b, rp)
        await assertRecovered(a, b)
      })
    })

    describe('on PostgreSQL alone', () => {
      const deployed = deployment(() => privateUrl(privatePostgres), () => undefined)
      let a: Node
      let b: Node
      before(async () => ({ a, b } = await deployed.twoNodes()))
      after(() => deployed.cleanup())

      it('while PostgreSQL is down: 503 temporarily_unavailable and /ready 503; serves again once it is back', async () => {
        // Registered now and never used on B, so B must look it up while the database is down.
        const fresh = await registerRp(a)
        const journey = await startJourney(a, fresh)
        try {
          await (privatePostgres as PrivateServer).stop()
          await assertUnavailable(a, b, fresh, journey, 'page')
        } finally {
          await (privatePostgres as PrivateServer).start()
        }
        await eventually('both nodes ready again', async () => (await readyStatus(a)) === 200 && (await readyStatus(b)) === 200)
        await fullSignIn(a, b, fresh)
        await assertRecovered(a, b)
      })
    })
  })
}
