/**
 * Careid scaled out with real processes: three `careid start` nodes, each its own child process,
 * on one PostgreSQL schema and one Redis with the same issuer and key-encryption key, behind a
 * round-robin reverse proxy whose address is the issuer. The proxy's log says which node served
 * each request.
 *
 * - A sign-in whose requests land on all three nodes in turn.
 * - A node killed with SIGKILL in the middle of a sign-in: the proxy passes over it and the
 *   sign-in finishes on the other two.
 * - `careid keys rotate` run as its own process: every node publishes the new key before any
 *   signs with it, and what it signs verifies against every node's JWKS.
 * - A bounded load of sign-ins, code redemptions and logouts while PostgreSQL and then Redis are
 *   restarted: 503 `temporarily_unavailable` with Retry-After meanwhile (never a 500, never a
 *   hang); afterwards every acknowledged session is live, no code was redeemed twice, and every
 *   logout was delivered exactly once to the relying party's back-channel endpoint.
 * - A node drained with SIGTERM while a token request is inside its handler (the client's
 *   jwks_uri answers when the test says) and while it holds the outbox claim on a logout whose
 *   relying party has not answered: the request gets its 200, new connections are refused, a
 *   request that arrives on an earlier connection (/ready) gets 503, the node exits 0, and another
 *   node delivers the logout within the first claim's lease, the abandoned attempt not counted.
 *
 * PostgreSQL and Redis are private instances on free ports (test/support/private_servers.ts),
 * since the test restarts them; the machine's shared servers are not touched.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose'
import pg from 'pg'
import { backchannelLogoutEvent } from '@careid/oidc'
import { announce, openContext } from '../../packages/cli/src/context.ts'
import { cis2RealmPath, resolveSettings } from '../../packages/cli/src/settings.ts'
import { startReceiver, type Receiver } from '../support/backchannel_receiver.ts'
import { Browser } from '../support/browser.ts'
import { activateWaitingKeys, freePort } from '../support/careid.ts'
import { runCareid, startCareidProcess, type StartedCareid } from '../support/cli.ts'
import { signIn } from '../support/journey.ts'
import { privateServersMissing, startPrivatePostgres, startPrivateRedis, type PrivateServer } from '../support/private_servers.ts'
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round_robin_proxy.ts'
import { password as demoPassword, someoneWithFewRoles } from '../support/demo_people.ts'

const person = someoneWithFewRoles()
const password = demoPassword(person)
const role = person.positions[1]?.person_roleid as string
const schema = 'careid_multinode'
const kek = randomBytes(32).toString('base64url')
/** Any one request: long enough for a busy machine, short enough that a hang fails the test. */
const requestTimeoutMs = 20_000
/** How many times a step that met an outage is tried again, a Retry-After apart. */
const maxRetries = 30

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function fetchWithin(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(requestTimeoutMs), ...init })
}

/** Polls `check` until it holds, failing with `what` after `timeoutMs`. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`)
    await sleep(200)
  }
}

function describeError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause
  return `${String(error)}${cause === undefined ? '' : ` (${String((cause as { code?: string }).code ?? cause)})`}`
}

/** An HTTP server on a free port for the test to answer from. */
async function listen(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => void handler(req, res).catch(() => res.destroy()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function openConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Why a new TCP connection to `port` fails (its error code), or undefined if it is accepted. */
async function connectionError(port: number): Promise<string | undefined> {
  try {
    ;(await openConnection(port)).destroy()
    return undefined
  } catch (error) {
    return (error as NodeJS.ErrnoException).code
  }
}

/** Everything the server sends on `socket` until it closes the connection. */
function firstResponse(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer within ${requestTimeoutMs} ms: ${text}`))
    }, requestTimeoutMs)
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()))
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(text)
    })
  })
}

/** A step met the outage (503 temporarily_unavailable): try it again after Retry-After. */
class Unavailable extends Error {}

async function untilServed<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt()
    } catch (error) {
      if (!(error instanceof Unavailable)) throw error
      if (tries >= maxRetries) throw new Error(`${what} still met the outage after ${maxRetries} tries`)
      await sleep(1000)
    }
  }
}

interface Rp {
  client_id: string
  client_secret: string
  redirect_uri: string
}

interface TokenAnswer {
  node: number
  status: number
  retryAfter: string | null
  body: Record<string, unknown>
  /** When the answer came (ms since the epoch). */
  at: number
}

const missing = await privateServersMissing()
if (missing !== undefined) {
  it('three Careid nodes as processes behind a round-robin proxy', { skip: missing }, () => {})
} else {
  describe('three Careid nodes as processes behind a round-robin proxy, on one PostgreSQL and one Redis', { timeout: 240_000 }, () => {
    let postgres: PrivateServer | undefined
    let redis: PrivateServer | undefined
    let receiver: Receiver | undefined
    let proxy: RoundRobinProxy
    let issuer: string
    let env: Record<string, string>
    const ports: number[] = []
    const nodes: StartedCareid[] = []
    const dirs: string[] = []
    let rp: Rp
    /** The browser of the first sign-in: its session is used again for prompt=none. */
    let signedIn: Browser

    const nodeBase = (i: number) => `http://127.0.0.1:${ports[i]}${cis2RealmPath}`
    const base = () => `${proxy.origin}${cis2RealmPath}`

    function dataDir(): string {
      const dir = mkdtempSync(join(tmpdir(), 'careid-multinode-'))
      dirs.push(dir)
      return dir
    }

    function startNode(i: number, demo: boolean): Promise<StartedCareid> {
      const args = ['--port', String(ports[i]), '--host', '127.0.0.1', '--data-dir', dataDir(), '--issuer', issuer, '--db-pool-size', '4', '--log-level', 'warn']
      return startCareidProcess(demo ? args : [...args, '--no-demo'], { env, timeoutMs: 60_000 })
    }

    function authorizeUrl(state: string, extra: Record<string, string> = {}): string {
      const params = { response_type: 'code', client_id: rp.client_id, redirect_uri: rp.redirect_uri, scope: 'openid profile nationalrbacaccess selectedrole', acr_values: 'AAL1_USERPASS', state, nonce: `n-${state}`, ...extra }
      return `${base()}/authorize?${new URLSearchParams(params)}`
    }

    /** The query of the redirect back to the relying party. */
    function callback(location: string, state: string): URLSearchParams {
      const url = new URL(location)
      assert.equal(`${url.origin}${url.pathname}`, rp.redirect_uri, location)
      assert.equal(url.searchParams.get('state'), state, location)
      return url.searchParams
    }

    async function redeemAt(url: string, code: string): Promise<{ status: number; retryAfter: string | null; body: Record<string, unknown> }> {
      const response = await fetchWithin(`${url}/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: rp.redirect_uri, client_id: rp.client_id, client_secret: rp.client_secret }).toString(),
      })
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> }
    }

    async function jwksOf(url: string): Promise<{ keys: { kid: string }[] }> {
      const response = await fetchWithin(`${url}/connect/jwk_uri`)
      assert.equal(response.status, 200)
      return (await response.json()) as { keys: { kid: string }[] }
    }

    /** Verifies an ID token against the JWKS of node `i` (signature, issuer, audience, RS256). */
    async function verifyOn(i: number, idToken: string) {
      const jwks = createLocalJWKSet((await jwksOf(nodeBase(i))) as unknown as JSONWebKeySet)
      return (await jwtVerify(idToken, jwks, { issuer, audience: rp.client_id, algorithms: ['RS256'] })).payload
    }

    /** A code for the session `browser` holds, without any page (prompt=none). */
    async function silentCode(browser: Browser): Promise<string> {
      const state = randomBytes(6).toString('hex')
      const response = await browser.fetch(authorizeUrl(state, { prompt: 'none' }))
      await response.body?.cancel()
      assert.equal(response.status, 302)
      const code = callback(response.headers.get('location') ?? '', state).get('code')
      assert.ok(code !== null, response.headers.get('location') ?? '')
      return code
    }

    before(async () => {
      postgres = await startPrivatePostgres()
      redis = await startPrivateRedis()
      receiver = await startReceiver()
      for (let i = 0; i < 3; i++) ports.push(await freePort())
      proxy = await startRoundRobinProxy(ports.map((p) => `http://127.0.0.1:${p}`))
      issuer = `${proxy.origin}${cis2RealmPath}`
      env = {
        DATABASE_URL: postgres.url,
        REDIS_URL: redis.url,
        CAREID_DATABASE_SCHEMA: schema,
        CAREID_KEY_ENCRYPTION_KEY: kek,
        // The load signs the same person in dozens of times a minute from one address, far past
        // what the sign-in limit allows a real person; the limits themselves are tested apart.
        CAREID_SIGN_IN_RATE_LIMIT: '100000',
      }
      // The first node migrates the schema and seeds the demo workforce; the others join it.
      nodes.push(await startNode(0, true))
      nodes.push(...(await Promise.all([startNode(1, false), startNode(2, false)])))
      const added = await runCareid(
        ['clients', 'add', '--name', 'Ward app', '--redirect-uri', 'https://ward.example.test/callback', '--backchannel-logout-uri', receiver.url, '--json', '--data-dir', dataDir(), '--issuer', issuer],
        { env, timeoutMs: 60_000 },
      )
      assert.equal(added.code, 0, added.stderr)
      const client = JSON.parse(added.stdout) as { client_id: string; client_secret: string }
      rp = { client_id: client.client_id, client_secret: client.client_secret, redirect_uri: 'https://ward.example.test/callback' }
    })

    after(async () => {
      await Promise.allSettled(nodes.map((node) => node.stop('SIGTERM', 15_000)))
      await proxy?.close()
      await receiver?.close()
      await postgres?.discard()
      await redis?.discard()
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    })

    it('a sign-in whose requests go to each node in turn: authorize, pages, token, userinfo', async () => {
      const from = proxy.log.length
      const state = 'across-the-nodes'
      signedIn = new Browser(proxy.origin)
      const { location, pages } = await signIn(signedIn, authorizeUrl(state), { username: person.username, password, method: 'password', role })
      assert.ok(pages.length >= 2, 'the password and role pages were shown')
      const code = callback(location, state).get('code')
      assert.ok(code !== null, location)
      const tokens = await redeemAt(base(), code)
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body))
      const userinfo = await fetchWithin(`${base()}/userinfo`, { headers: { authorization: `Bearer ${tokens.body.access_token as string}` } })
      const claims = (await userinfo.json()) as Record<string, unknown>
      assert.equal(userinfo.status, 200, JSON.stringify(claims))
      assert.equal(claims.sub, person.uid)
      assert.equal(claims.selected_roleid, role)

      const served = proxy.log.slice(from)
      const journey = new URL(served[1]?.url ?? '', proxy.origin).pathname.slice(cis2RealmPath.length)
      const trail = served.map((r) => `${r.method} ${new URL(r.url, proxy.origin).pathname.slice(cis2RealmPath.length)} ${r.status}`)
      assert.deepEqual(trail, ['GET /authorize 302', `GET ${journey} 200`, `POST ${journey}/authenticate 200`, `POST ${journey}/role 303`, 'POST /access_token 200', 'GET /userinfo 200'])
      assert.match(journey, /^\/interaction\/[\w-]+$/)
      // Nothing else talks to the proxy meanwhile, so each request goes to the node after the last.
      const first = served[0]?.upstream ?? assert.fail('no request went through the proxy')
      assert.deepEqual(served.map((r) => r.upstream), [0, 1, 2, 3, 4, 5].map((i) => (first + i) % 3))
      assert.ok(served.every((r) => r.skipped.length === 0))
      // The ID token verifies against every node's JWKS.
      for (let i = 0; i < 3; i++) {
        const payload = await verifyOn(i, tokens.body.id_token as string)
        assert.equal(payload.sub, person.uid)
        assert.equal(payload.nonce, `n-${state}`)
      }
    })

    it('a node killed with SIGKILL mid-sign-in: the sign-in finishes on the others; restarted, it serves again', async () => {
      const state = 'through-a-crash'
      const browser = new Browser(proxy.origin)
      const started = await browser.fetch(authorizeUrl(state))
      await started.body?.cancel()
      assert.equal(started.status, 302)
      const authorizedBy = proxy.log.at(-1)?.upstream ?? assert.fail('the authorization request was not proxied')
      const journey = new URL(started.headers.get('location') ?? '', proxy.origin).href
      assert.match(journey, /\/interaction\//)
      const firstPage = await browser.go(journey)
      assert.equal(firstPage.page?.status, 200)
      const pageBy = proxy.log.at(-1)?.upstream ?? assert.fail('the first page was not proxied')
      assert.notEqual(pageBy, authorizedBy)

      // The node that began the sign-in dies without a chance to clean up.
      const killed = authorizedBy
      const exit = await (nodes[killed] as StartedCareid).stop('SIGKILL')
      assert.deepEqual(exit, { code: null, signal: 'SIGKILL' })
      const from = proxy.log.length
      const { location, pages } = await signIn(browser, journey, { username: person.username, password, method: 'password', role })
      assert.ok(pages.length >= 2)
      const code = callback(location, state).get('code')
      assert.ok(code !== null, location)
      const tokens = await redeemAt(base(), code)
      assert.equal(tokens.status, 200, JSON.stringify(tokens.body))
      const afterKill = proxy.log.slice(from)
      const trail = afterKill.map((r) => `${r.method} ${r.url.split('?')[0]} -> node ${r.upstream} (${r.status}) skipped [${r.skipped.join(',')}]`).join('\n')
      assert.ok(afterKill.every((r) => r.upstream !== killed && r.upstream !== undefined && r.status < 400), trail)
      // Every turn that fell to the dead node was passed on to the next one.
      assert.ok(afterKill.some((r) => r.skipped.length > 0), trail)
      assert.ok(afterKill.every((r) => r.skipped.length === 0 || (r.skipped.length === 1 && r.skipped[0] === killed && r.upstream === (killed + 1) % 3)), trail)
      assert.equal((await verifyOn((killed + 1) % 3, tokens.body.id_token as string)).sub, person.uid)

      // Back on its port, the node joins again.
      nodes[killed] = await startNode(killed, false)
      const jwks = await jwksOf(nodeBase(killed))
      assert.ok(jwks.keys.length >= 1)
      const ready = await fetchWithin(`http://127.0.0.1:${ports[killed]}/ready`)
      assert.equal(ready.status, 200)
    })

    it('careid keys rotate: every node publishes the new key before any signs with it; its tokens verify on every node', async () => {
      const before = await Promise.all([0, 1, 2].map((i) => jwksOf(nodeBase(i))))
      const oldKid = before[0]?.keys[0]?.kid ?? assert.fail('no key published')
      for (const jwks of before) assert.equal(jwks.keys[0]?.kid, oldKid, 'the nodes publish the same active key first')

      const rotated = await runCareid(['keys', 'rotate', '--data-dir', dataDir(), '--issuer', issuer], { env, timeoutMs: 60_000 })
      assert.equal(rotated.code, 0, rotated.stderr)
      const newKid = /New signing key (\S+) is published now/.exec(rotated.stdout)?.[1] ?? assert.fail(rotated.stdout)
      assert.notEqual(newKid, oldKid)
      await eventually('the new key in every node\'s JWKS', async () => {
        const all = await Promise.all([0, 1, 2].map((i) => jwksOf(nodeBase(i))))
        return all.every((jwks) => jwks.keys.some((k) => k.kid === newKid))
      }, 15_000)
      // Published, not signing: each node's token endpoint still signs with the old key.
      for (let i = 0; i < 3; i++) {
        const answer = await redeemAt(nodeBase(i), await silentCode(signedIn))
        assert.equal(answer.status, 200, JSON.stringify(answer.body))
        assert.equal(decodeProtectedHeader(answer.body.id_token as string).kid, oldKid)
      }

      // The publication lead (10 minutes) is waited out by an admin whose clock runs ahead: it
      // activates the key in the shared store and tells the nodes, as `careid keys rotate` does.
      const admin = await openContext(resolveSettings({ dataDir: dataDir(), issuer }, env))
      try {
        assert.deepEqual(await activateWaitingKeys({ context: admin }), [newKid])
        await announce(admin, { type: 'keys.rotated' })
      } finally {
        await admin.close()
      }
      await eventually('every node signing with the new key (listed first)', async () => {
        const all = await Promise.all([0, 1, 2].map((i) => jwksOf(nodeBase(i))))
        return all.every((jwks) => jwks.keys[0]?.kid === newKid && jwks.keys.some((k) => k.kid === oldKid))
      }, 15_000)
      for (let i = 0; i < 3; i++) {
        const answer = await redeemAt(nodeBase(i), await silentCode(signedIn))
        assert.equal(answer.status, 200, JSON.stringify(answer.body))
        const idToken = answer.body.id_token as string
        assert.equal(decodeProtectedHeader(idToken).kid, newKid, `node ${i} signs with the new key`)
        for (let j = 0; j < 3; j++) assert.equal((await verifyOn(j, idToken)).sub, person.uid)
      }
    })

    it('under load, PostgreSQL and then Redis restarted: 503s meanwhile, no 500; sessions kept, codes single-use, logouts delivered once', { timeout: 150_000 }, async (t) => {
      const workers = 6
      const journeysPerWorker = 4
      const from = proxy.log.length
      const startedAt = Date.now()
      /** Every answer of the token endpoint, per code. */
      const redemptions = new Map<string, TokenAnswer[]>()
      /** Acknowledged sessions: a code issued and redeemed (200). */
      const sessions: { browser: Browser; sid: string; loggedOut: boolean }[] = []
      let redeemed = 0
      let spentByOutage = 0
      const outages: { what: string; from: number; to: number }[] = []

      /** Both answers for one code, asked of two nodes at once; a 503 is asked again. */
      async function redeemTwice(code: string, nodesToAsk: [number, number]): Promise<TokenAnswer[]> {
        const answers: TokenAnswer[] = []
        let pending = [...nodesToAsk]
        for (let round = 0; pending.length > 0; round++) {
          if (round > 0) await sleep(1000)
          assert.ok(round < maxRetries, `code still unanswered after ${maxRetries} rounds`)
          const got = await Promise.all(pending.map(async (node) => ({ node, ...(await redeemAt(nodeBase(node), code)), at: Date.now() })))
          answers.push(...got)
          pending = got.filter((a) => a.status === 503).map((a) => a.node)
        }
        redemptions.set(code, answers)
        return answers
      }

      /**
       * One person's visit: a sign-in whose code is redeemed once (the session acknowledged), a
       * second code (prompt=none) redeemed at two nodes at once, and every other time a logout.
       */
      async function journey(worker: number, n: number): Promise<void> {
        const browser = new Browser(proxy.origin)
        const state = `load-${worker}-${n}`
        const location = await untilServed('the sign-in', async () => {
          let result
          try {
            result = await signIn(browser, authorizeUrl(state), { username: person.username, password, method: 'password', role })
          } catch (error) {
            if (/unexpected page 503 /.test((error as Error).message)) throw new Unavailable()
            throw error
          }
          if (callback(result.location, state).get('error') === 'temporarily_unavailable') throw new Unavailable()
          return result.location
        })
        const code = callback(location, state).get('code') ?? assert.fail(`no code: ${location}`)
        let metOutage = false
        const tokens = await untilServed('redeeming the code', async () => {
          const answer = await redeemAt(base(), code)
          if (answer.status === 503) {
            metOutage = true
            throw new Unavailable()
          }
          return answer
        })
        if (tokens.status !== 200) {
          // A redemption cut short by the outage after the code was taken leaves it spent.
          assert.ok(metOutage && tokens.status === 400 && tokens.body.error === 'invalid_grant', JSON.stringify(tokens.body))
          spentByOutage++
          return
        }
        const idToken = tokens.body.id_token as string
        const session = { browser, sid: String((await verifyOn(0, idToken)).sid), loggedOut: false }
        sessions.push(session)
        redeemed++

        const silentState = `${state}-again`
        const again = await untilServed('prompt=none', async () => {
          const response = await browser.fetch(authorizeUrl(silentState, { prompt: 'none' }))
          await response.body?.cancel()
          if (response.status === 503) throw new Unavailable()
          assert.equal(response.status, 302)
          const back = callback(response.headers.get('location') ?? '', silentState)
          if (back.get('error') === 'temporarily_unavailable') throw new Unavailable()
          return back.get('code') ?? assert.fail(`prompt=none: ${back.get('error')}`)
        })
        await redeemTwice(again, [(worker + n) % 3, (worker + n + 1) % 3])

        if (n % 2 === 1) {
          await untilServed('the logout', async () => {
            const response = await browser.fetch(`${base()}/connect/endSession?${new URLSearchParams({ id_token_hint: idToken })}`)
            await response.body?.cancel()
            if (response.status === 503) throw new Unavailable()
            assert.equal(response.status, 200)
          })
          session.loggedOut = true
        }
      }

      async function outage(what: string, server: PrivateServer, afterRedeemed: number): Promise<void> {
        const deadline = Date.now() + 30_000
        while (redeemed < afterRedeemed && Date.now() < deadline) await sleep(50)
        const down = Date.now()
        await server.restart(2000)
        outages.push({ what, from: down, to: Date.now() })
      }

      const load = Promise.allSettled(
        Array.from({ length: workers }, async (_, worker) => {
          for (let n = 0; n < journeysPerWorker; n++) await journey(worker, n)
        }),
      )
      const restarts = (async () => {
        await outage('PostgreSQL', postgres as PrivateServer, 3)
        await outage('Redis', redis as PrivateServer, 8)
      })()
      const [results] = await Promise.all([load, restarts])
      const failures = results.filter((r) => r.status === 'rejected').map((r) => describeError((r as PromiseRejectedResult).reason))
      const exited = nodes.map((node, i) => ({ i, exit: node.child.exitCode ?? node.child.signalCode })).filter((n) => n.exit !== null)
      assert.deepEqual({ failures, exited }, { failures: [], exited: [] }, nodes.map((node, i) => `node ${i} stderr:\n${node.stderr().slice(-3000)}`).join('\n'))

      // What the relying parties and browsers saw: 503 with Retry-After during the outages, never another 5xx.
      const proxied = proxy.log.slice(from)
      const direct = [...redemptions.values()].flat()
      // A relying party learns of the outage from a 503, or from authorize as an error sent to its redirect URI.
      const toldUnavailable = (r: { status: number; location?: string | undefined }) =>
        r.status === 503 || (r.status === 302 && r.location?.startsWith(`${rp.redirect_uri}?`) === true && new URL(r.location).searchParams.get('error') === 'temporarily_unavailable')
      const unavailable = [...proxied, ...direct].filter(toldUnavailable)
      const broken = [...proxied.filter((r) => r.status >= 500 && r.status !== 503).map((r) => `${r.method} ${r.url.split('?')[0]} ${r.status}`), ...direct.filter((a) => a.status >= 500 && a.status !== 503).map((a) => `token ${a.status} ${JSON.stringify(a.body)}`)]
      assert.deepEqual(broken, [])
      for (const r of proxied.filter((r) => r.status === 503)) assert.equal(r.retryAfter, '1', `${r.method} ${r.url.split('?')[0]}`)
      for (const a of direct.filter((a) => a.status === 503)) {
        assert.equal(a.retryAfter, '1')
        assert.equal(a.body.error, 'temporarily_unavailable')
      }
      assert.deepEqual(outages.map((o) => o.what), ['PostgreSQL', 'Redis'])
      // Each outage was met: some requests were answered 503 while it lasted (or in the seconds
      // after, while the nodes reconnected, until the next outage began).
      const met = outages.map((o, i) => {
        const until = Math.min(o.to + 3000, outages[i + 1]?.from ?? Infinity)
        return unavailable.filter((r) => r.at >= o.from && r.at < until).length
      })
      const figures = {
        ms: Date.now() - startedAt,
        proxied: proxied.length,
        tokenRequests: direct.length,
        unavailable: unavailable.length,
        outages: outages.map((o, i) => `${o.what} down ${o.to - o.from} ms, ${met[i]} told unavailable`),
        sessions: sessions.length,
        loggedOut: sessions.filter((s) => s.loggedOut).length,
      }
      t.diagnostic(`load: ${JSON.stringify(figures)}`)
      for (const [i, o] of outages.entries()) assert.ok((met[i] ?? 0) > 0, `no request met the ${o.what} outage: ${JSON.stringify(figures)}`)

      // No code was redeemed twice. Of two nodes asked at once, at most one issued tokens, and
      // RFC 6749 4.1.2 ("If an authorization code is used more than once, the authorization server
      // MUST deny the request and SHOULD revoke ... all tokens previously issued based on that
      // authorization code"): the other said invalid_grant, and the tokens, if any, no longer work.
      // When the second request is seen before the first has finished, both are refused.
      assert.equal(redemptions.size, sessions.length)
      let bothRefused = 0
      for (const [code, answers] of redemptions) {
        const issued = answers.filter((a) => a.status === 200)
        const outcome = answers.filter((a) => a.status !== 503).map((a) => (a.status === 200 ? 'tokens' : `${a.status} ${String(a.body.error)}`)).sort()
        const trail = `${code.slice(0, 6)}…: ${JSON.stringify(answers.map((a) => [a.node, a.status, a.body.error]))}`
        if (issued.length === 0) {
          assert.deepEqual(outcome, ['400 invalid_grant', '400 invalid_grant'], trail)
          bothRefused++
          continue
        }
        assert.deepEqual(outcome, ['400 invalid_grant', 'tokens'], trail)
        const userinfo = await fetchWithin(`${base()}/userinfo`, { headers: { authorization: `Bearer ${issued[0]?.body.access_token as string}` } })
        await userinfo.body?.cancel()
        assert.equal(userinfo.status, 401, `${trail}: the tokens of a code used twice are revoked`)
      }
      t.diagnostic(`double redemptions: ${redemptions.size}, one refused: ${redemptions.size - bothRefused}, both refused: ${bothRefused}; codes spent by an outage: ${spentByOutage}`)

      // Every acknowledged session not logged out is still live: prompt=none gives a code for the
      // same session (the same sid); every logged-out one needs a sign-in again.
      for (const session of sessions) {
        const state = randomBytes(6).toString('hex')
        const response = await session.browser.fetch(authorizeUrl(state, { prompt: 'none' }))
        await response.body?.cancel()
        assert.equal(response.status, 302)
        const back = callback(response.headers.get('location') ?? '', state)
        if (session.loggedOut) {
          assert.equal(back.get('error'), 'login_required', session.sid)
          continue
        }
        const code = back.get('code') ?? assert.fail(`session ${session.sid}: ${back.get('error')}`)
        const answer = await redeemAt(base(), code)
        assert.equal(answer.status, 200, JSON.stringify(answer.body))
        assert.equal((await verifyOn(0, answer.body.id_token as string)).sid, session.sid)
      }

      // Every logout was delivered, exactly once, as a valid logout token for its session. Once the
      // outbox holds nothing undelivered, no further delivery can come.
      const ended = sessions.filter((s) => s.loggedOut).map((s) => s.sid).sort()
      const db = new pg.Client({ connectionString: (postgres as PrivateServer).url })
      db.on('error', () => {})
      await db.connect()
      try {
        await eventually('every logout delivered', async () => {
          const { rows } = await db.query<{ undelivered: string; total: string }>(`SELECT count(*) FILTER (WHERE delivered_at IS NULL) AS undelivered, count(*) AS total FROM ${schema}.logout_outbox`)
          return rows[0]?.undelivered === '0' && Number(rows[0]?.total) === ended.length
        }, 60_000)
      } finally {
        await db.end()
      }
      const tokens = (receiver as Receiver).tokens
      const jwks = createLocalJWKSet((await jwksOf(base())) as unknown as JSONWebKeySet)
      const delivered: string[] = []
      for (const token of tokens) {
        const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, audience: rp.client_id, algorithms: ['RS256'], typ: 'logout+jwt', maxTokenAge: '10 minutes' })
        assert.equal(payload.sub, person.uid)
        assert.deepEqual(payload.events, { [backchannelLogoutEvent]: {} })
        assert.equal(payload.nonce, undefined)
        assert.equal(typeof payload.jti, 'string')
        assert.ok(typeof protectedHeader.kid === 'string')
        delivered.push(String(payload.sid))
      }
      assert.deepEqual(delivered.sort(), ended)
    })

    it('a node drains on SIGTERM: its request in flight finishes, new connections are refused, /ready says 503, its outbox claim goes to another node at once, exit 0', { timeout: 90_000 }, async (t) => {
      // A private_key_jwt client whose jwks_uri the test answers when it chooses, so a token
      // request is held inside a node's handler; its back-channel endpoint holds the first
      // logout it is sent, so the node that claimed that notification is still holding the claim.
      const { publicKey, privateKey } = await generateKeyPair('RS256')
      const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'signing-app', alg: 'RS256', use: 'sig' }] }
      let jwksAsked: () => void = () => {}
      const jwksFetched = new Promise<void>((resolve) => (jwksAsked = resolve))
      let answerJwks: () => void = () => {}
      const jwksAnswered = new Promise<void>((resolve) => (answerJwks = resolve))
      const keyServer = await listen(async (_req, res) => {
        jwksAsked()
        await jwksAnswered
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
      })
      const db = new pg.Client({ connectionString: (postgres as PrivateServer).url })
      db.on('error', () => {})
      await db.connect()
      let clientId = ''
      const claimOf = async () =>
        (await db.query<{ claimed_by: string | null; claim_expires_at: string | null; attempts: number; delivered_at: string | null; last_error: string | null }>(
          `SELECT claimed_by, claim_expires_at, attempts, delivered_at, last_error FROM ${schema}.logout_outbox WHERE client_id = $1`,
          [clientId],
        )).rows
      /** Each logout POSTed to the signing app: when, by which node (the outbox's claimant then), and when its connection closed unanswered. */
      const posts: { at: number; claimedBy: string | null; token: string; closedUnanswered?: number }[] = []
      const logoutServer = await listen(async (req, res) => {
        let body = ''
        for await (const chunk of req) body += String(chunk)
        const post: (typeof posts)[number] = { at: Date.now(), claimedBy: (await claimOf())[0]?.claimed_by ?? null, token: new URLSearchParams(body).get('logout_token') ?? '' }
        posts.push(post)
        // The first is held unanswered; the node's going away is what ends it.
        if (posts.length === 1) res.once('close', () => (post.closedUnanswered = Date.now()))
        else res.writeHead(200).end()
      })
      const nextPost = (count: number, ms: number) => eventually(`logout POST ${count} to the signing app`, async () => posts.length >= count, ms)
      try {
        const redirectUri = 'https://signing.example.test/callback'
        const added = await runCareid(
          ['clients', 'add', '--name', 'Signing app', '--redirect-uri', redirectUri, '--auth-method', 'private_key_jwt', '--jwks-uri', `${keyServer.url}/jwks.json`, '--signing-alg', 'RS256', '--backchannel-logout-uri', `${logoutServer.url}/backchannel`, '--json', '--data-dir', dataDir(), '--issuer', issuer],
          { env, timeoutMs: 60_000 },
        )
        assert.equal(added.code, 0, added.stderr)
        clientId = (JSON.parse(added.stdout) as { client_id: string }).client_id

        // One session that both relying parties take part in: the Ward app signs in, the signing app gets a code silently.
        const browser = new Browser(proxy.origin)
        const state = 'before-the-drain'
        const { location } = await signIn(browser, authorizeUrl(state), { username: person.username, password, method: 'password', role })
        const tokens = await redeemAt(base(), callback(location, state).get('code') ?? assert.fail(location))
        assert.equal(tokens.status, 200, JSON.stringify(tokens.body))
        const idToken = tokens.body.id_token as string
        const sid = String((await verifyOn(0, idToken)).sid)
        const signingAppUrl = (params: Record<string, string>) =>
          `${base()}/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'openid', acr_values: 'AAL1_USERPASS', ...params })}`
        const silent = await browser.fetch(signingAppUrl({ state: 'silent', nonce: 'n-silent', prompt: 'none' }))
        await silent.body?.cancel()
        const silentBack = new URL(silent.headers.get('location') ?? assert.fail(`prompt=none: ${silent.status}`))
        assert.ok(silentBack.searchParams.get('code'), silentBack.href)
        // The code redeemed while a node drains comes from another session, which stays signed in:
        // a code of the session logged out below would be refused with it.
        const elsewhere = await signIn(new Browser(proxy.origin), signingAppUrl({ state: 'elsewhere', nonce: 'n-elsewhere' }), { username: person.username, password, method: 'password' })
        const code = new URL(elsewhere.location).searchParams.get('code') ?? assert.fail(elsewhere.location)

        // The logout: the signing app's notification is claimed by some node, which then waits on the held POST.
        const loggedOut = await browser.fetch(`${base()}/connect/endSession?${new URLSearchParams({ id_token_hint: idToken })}`)
        await loggedOut.body?.cancel()
        assert.equal(loggedOut.status, 200)
        await nextPost(1, 30_000)
        const [claim] = await claimOf()
        const claimant = posts[0]?.claimedBy ?? assert.fail('the first POST came with no claim')
        assert.equal(claim?.claimed_by, claimant, 'the claim is held while the POST is unanswered')
        const leaseEnd = Number(claim?.claim_expires_at)
        const draining = nodes.findIndex((node) => claimant === `${hostname()}:${node.child.pid}`)
        assert.ok(draining >= 0, `${claimant} is one of the nodes`)
        const port = ports[draining] as number

        // A connection opened before the SIGTERM whose request (/ready) is still being sent.
        const early = await openConnection(port)
        early.write(`GET /ready HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)
        // The token request, held in the node's handler until the client's keys are answered.
        const now = Math.floor(Date.now() / 1000)
        const assertion = await new SignJWT({ jti: randomBytes(12).toString('hex') })
          .setProtectedHeader({ alg: 'RS256', kid: 'signing-app' })
          .setIssuer(clientId)
          .setSubject(clientId)
          .setAudience(issuer)
          .setIssuedAt(now)
          .setExpirationTime(now + 120)
          .sign(privateKey)
        const inFlight = fetchWithin(`${nodeBase(draining)}/access_token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }).toString(),
        })
        await jwksFetched

        const sigterm = Date.now()
        const exit = (nodes[draining] as StartedCareid).stop('SIGTERM', 30_000)
        let refused: string | undefined
        try {
          await eventually('new connections refused', async () => {
            refused = await connectionError(port)
            return refused === 'ECONNREFUSED'
          }, 3_000)
          // The request begun before the SIGTERM is answered, as every request arriving now would be: 503.
          early.write('\r\n')
          const ready = await firstResponse(early)
          assert.match(ready, /^HTTP\/1\.1 503 /, ready)
          assert.match(ready, /\r\nconnection: close\r\n/i, ready)
        } finally {
          answerJwks()
        }
        const answer = await inFlight
        const issued = (await answer.json()) as Record<string, unknown>
        assert.equal(answer.status, 200, JSON.stringify(issued))
        assert.equal(answer.headers.get('connection'), 'close')
        const { payload } = await jwtVerify(issued.id_token as string, createLocalJWKSet((await jwksOf(base())) as unknown as JSONWebKeySet), { issuer, audience: clientId, algorithms: ['RS256'] })
        assert.equal(payload.sub, person.uid)
        assert.deepEqual(await exit, { code: 0, signal: null }, (nodes[draining] as StartedCareid).stderr())
        const exited = Date.now()

        // The held POST was dropped by the draining node; another node claimed the notification
        // and delivered it, long before the first claim's lease would have let it.
        await nextPost(2, Math.max(1_000, leaseEnd - Date.now()))
        const [first, second] = posts
        assert.ok(first?.closedUnanswered !== undefined && first.closedUnanswered >= sigterm && first.closedUnanswered <= exited, 'the drain ended the POST in flight')
        const others = nodes.filter((_, i) => i !== draining).map((node) => `${hostname()}:${node.child.pid}`)
        assert.ok(second !== undefined && others.includes(second.claimedBy ?? ''), `delivered by ${second?.claimedBy}, one of ${others.join(', ')}`)
        assert.ok(second.at > sigterm && second.at < leaseEnd, `delivered ${second.at - sigterm} ms after the SIGTERM; the first claim ran until ${leaseEnd - sigterm} ms after it`)
        await eventually('the delivery recorded', async () => (await claimOf())[0]?.delivered_at !== null, 10_000)
        const [row] = await claimOf()
        assert.ok(Number(row?.delivered_at) < leaseEnd)
        // The abandoned attempt is not counted against the relying party: one attempt, no error.
        assert.deepEqual({ attempts: row?.attempts, last_error: row?.last_error, claimed_by: row?.claimed_by }, { attempts: 1, last_error: null, claimed_by: null })
        assert.equal(posts.length, 2)
        t.diagnostic(`after the SIGTERM: held POST dropped at ${first.closedUnanswered - sigterm} ms, exit seen at ${exited - sigterm} ms, delivered by another node at ${second.at - sigterm} ms; the first claim's lease ran to ${leaseEnd - sigterm} ms`)
        const logout = await jwtVerify(second.token, createLocalJWKSet((await jwksOf(base())) as unknown as JSONWebKeySet), { issuer, audience: clientId, algorithms: ['RS256'], typ: 'logout+jwt' })
        assert.equal(logout.payload.sid, sid)
        assert.deepEqual(logout.payload.events, { [backchannelLogoutEvent]: {} })
      } finally {
        answerJwks()
        await db.end()
        await keyServer.close()
        await logoutServer.close()
      }
    })
  })
}
