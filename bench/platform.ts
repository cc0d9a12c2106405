/**
 * The API Platform's benchmarks (issue 17): token exchange (the separate pattern, cis2.md 6.3), and
 * a Patient read by NHS number and a search by family name and birthdate through the gateway, each
 * beside a bare Fastify JSON route on the same machine, which answers a fixed Patient with no auth
 * and no store: the ceiling of HTTP and JSON here. Each server is a child process pinned to the
 * server core; the load generator (this process) holds the application's RS512 key and plays the
 * supplier's GP system: it signs the worker in once through the provider at AAL2, exchanges the
 * CIS2 ID token for platform tokens, and calls the Patient API as the worker's role.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK, SignJWT } from 'jose'
import { generatePopulation } from '@careid/pds'
import { cis2RealmPath } from '../packages/cli/src/settings.ts'
import { CookieJar } from '../test/support/cookie_jar.ts'
import { freePort } from '../test/support/free_port.ts'
import type { UnitCosts } from './ceilings.ts'
import { redeem, signInWithApp, ssoCode } from './client.ts'
import { heading, line, perCpu, rate, ratio, side, times } from './format.ts'
import { cannon, medianRound, type Measurement } from './load.ts'
import { rssOf, serverCore, startServer, type ServerProcess } from './processes.ts'
import { formatSummary, summarise } from './profile.ts'
import type { BareReady, PlatformReady } from './platform_target.ts'
import type { Target } from './target.ts'

const connections = 32
/** The exchange benchmark sends a pool of assertions signed beforehand; never more than this many. */
const maxAssertionPool = 20_000
/** Never contacted: the code is read from the redirect's Location. */
const redirectUri = 'http://127.0.0.1:9/callback'
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' }

/** Who signs in: one of the demo workforce with a single role (selected automatically), and their role. */
export interface Worker {
  uid: string
  username: string
  password: string
  roleId: string
}

export interface PlatformOptions {
  worker: Worker
  rounds: number
  /** The timed window of each benchmark, in seconds. */
  seconds: number
  /** Where the run registers what to undo however it ends. */
  cleanups: (() => Promise<void>)[]
  /** Runs Careid's child from sources under `node --cpu-prof`, writing its profiles here. */
  profileDir?: string | undefined
}

export interface PlatformRow {
  key: 'read' | 'search' | 'exchange'
  label: string
  unit: string
  careid: Measurement
  /** The bare route, measured in the same round (absent for the exchange, which is bound by its signatures instead). */
  bare?: Measurement | undefined
}

export interface TargetCheck {
  target: string
  met: boolean
  detail: string
}

export interface PlatformResults {
  bare: Measurement
  rows: PlatformRow[]
  idleRss: { careid: number; bare: number }
  /** The exchange's signature checks: CPU milliseconds per exchange, and their share of the server's CPU. */
  signatures: { msPerExchange: number; share: number }
  table: string
  checks: TargetCheck[]
  notes: string[]
  failures: string[]
}

/** The application's key pair: the private key stays here, the public JWKS is registered. */
interface ApplicationKey {
  privateKey: KeyObject
  kid: string
  jwks: { keys: object[] }
}

async function applicationKey(): Promise<ApplicationKey> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const kid = 'bench-rs512-1'
  return { privateKey, kid, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS512', use: 'sig' }] } }
}

/** One client assertion (cis2.md 6.3 step 2): RS512, kid, iss = sub = the API key, aud = the token URL, a fresh jti, exp within 5 minutes. */
function clientAssertion(key: ApplicationKey, apiKey: string, tokenUrl: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS512', typ: 'JWT', kid: key.kid })
    .setIssuer(apiKey)
    .setSubject(apiKey)
    .setAudience(tokenUrl)
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
    .sign(key.privateKey)
}

function exchangeBody(idToken: string, assertion: string): string {
  return new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    subject_token: idToken,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  }).toString()
}

/** What the read and search loads ask for: taken from the population the demo seeds (same size, same seed). */
interface Asks {
  readPaths: string[]
  searchPaths: string[]
}

function asksOf(basePath: string): Asks {
  const active = generatePopulation().records.filter((r) => r.status === 'active')
  const readPaths = active.map((r) => `${basePath}/Patient/${r.nhs_number}`)
  const searchPaths = active.map((r) => {
    const resource = r.resource as { name?: { family?: string }[]; birthDate?: string }
    const query = new URLSearchParams({ family: resource.name?.[0]?.family ?? '', birthdate: `eq${resource.birthDate ?? ''}` })
    return `${basePath}/Patient?${query.toString()}`
  })
  return { readPaths, searchPaths }
}

interface Prepared {
  careid: ServerProcess<PlatformReady>
  bare: ServerProcess<BareReady>
  target: Target
  key: ApplicationKey
  jar: CookieJar
  asks: Asks
  worker: Worker
  seconds: number
}

async function start(options: PlatformOptions): Promise<Prepared> {
  const key = await applicationKey()
  const port = await freePort()
  const platformPort = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const careid = await startServer<PlatformReady>('./platform_server.ts', {
    BENCH_PORT: String(port),
    BENCH_PLATFORM_PORT: String(platformPort),
    BENCH_ISSUER: `${origin}${cis2RealmPath}`,
    BENCH_REDIRECT_URI: redirectUri,
    BENCH_USERNAME: options.worker.username,
    BENCH_PLATFORM_JWKS: JSON.stringify(key.jwks),
  }, options.profileDir === undefined ? {} : { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', options.profileDir], fromSources: true })
  options.cleanups.push(() => careid.stop())
  process.stderr.write(`Careid with the platform started (pid ${careid.pid}, ${origin}, platform ${careid.ready.platform.patientApi}, core ${serverCore})\n`)
  const barePort = await freePort()
  const bare = await startServer<BareReady>('./bare_server.ts', { BENCH_PORT: String(barePort) })
  options.cleanups.push(() => bare.stop())
  process.stderr.write(`bare Fastify route started (pid ${bare.pid}, ${bare.ready.url}, core ${serverCore})\n`)

  const ready = careid.ready
  const discovery = (await (await fetch(`${ready.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>
  const target: Target = {
    ...ready,
    pids: [careid.pid],
    origin,
    nodes: [origin],
    redirectUri,
    user: options.worker,
    endpoints: {
      discovery: `${ready.issuer}/.well-known/openid-configuration`,
      jwks: discovery.jwks_uri as string,
      authorization: discovery.authorization_endpoint as string,
      token: discovery.token_endpoint as string,
      userinfo: discovery.userinfo_endpoint as string,
    },
  }
  // The one sign-in: the session it leaves in the jar gives fresh ID tokens by single sign-on.
  const jar = new CookieJar()
  await redeem(target, target.clients.jwt, await signInWithApp(target, target.clients.jwt, jar, ready.platform.totpCode))
  return { careid, bare, target, key, jar, asks: asksOf(new URL(ready.platform.patientApi).pathname), worker: options.worker, seconds: options.seconds }
}

/** A fresh CIS2 ID token of the worker, by single sign-on (ID tokens live 5 minutes). */
async function idToken(p: Prepared): Promise<string> {
  return (await redeem(p.target, p.target.clients.jwt, await ssoCode(p.target, p.target.clients.jwt, p.jar))).id_token
}

/** One token exchange; the platform access token it gives. */
async function exchange(p: Prepared): Promise<string> {
  const { apiKey, tokenUrl } = p.careid.ready.platform
  const response = await fetch(tokenUrl, { method: 'POST', headers: formHeaders, body: exchangeBody(await idToken(p), await clientAssertion(p.key, apiKey, tokenUrl)) })
  const body = (await response.json()) as { access_token?: unknown }
  if (response.status !== 200 || typeof body.access_token !== 'string') throw new Error(`token exchange: HTTP ${response.status} ${JSON.stringify(body).slice(0, 200)}`)
  return body.access_token
}

/** The headers a GP system sends the Patient API (cis2.md 6.4): the token, the role, and a fresh request id each time. */
function apiRequests(paths: string[], accessToken: string, roleId: string) {
  let next = 0
  return {
    headers: { authorization: `Bearer ${accessToken}`, 'nhsd-session-urid': roleId, accept: 'application/fhir+json' },
    nextRequest: () => ({ path: paths[next++ % paths.length] as string, headers: { 'x-request-id': randomUUID() } }),
  }
}

/** A read and a search answered as they should be, before anything is timed. */
async function checkAnswers(p: Prepared, accessToken: string): Promise<void> {
  const origin = new URL(p.careid.ready.platform.patientApi).origin
  for (const [path, resourceType] of [
    [p.asks.readPaths[0] as string, 'Patient'],
    [p.asks.searchPaths[0] as string, 'Bundle'],
  ] as const) {
    const response = await fetch(origin + path, { headers: { authorization: `Bearer ${accessToken}`, 'nhsd-session-urid': p.worker.roleId, 'x-request-id': randomUUID() } })
    const body = (await response.json()) as { resourceType?: unknown }
    if (response.status !== 200 || body.resourceType !== resourceType) throw new Error(`GET ${path}: HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`)
  }
}

/** The bare route, asked with the same paths and headers as the Patient API (the same bytes on the wire, the same generator work). */
function bareBench(p: Prepared, accessToken: string): Promise<Measurement> {
  const paths = p.asks.readPaths.map((path) => `/Patient/${path.slice(path.lastIndexOf('/') + 1)}`)
  return cannon([p.bare.pid], { urls: [p.bare.ready.url], connections, warmupSeconds: 1, durationSeconds: p.seconds, ...apiRequests(paths, accessToken, p.worker.roleId) })
}

function apiBench(p: Prepared, paths: string[], accessToken: string): Promise<Measurement> {
  const origin = new URL(p.careid.ready.platform.patientApi).origin
  return cannon([p.careid.pid], { urls: [origin + (paths[0] as string)], connections, warmupSeconds: 1, durationSeconds: p.seconds, ...apiRequests(paths, accessToken, p.worker.roleId) })
}

/**
 * Each exchange needs an assertion with a jti never seen: they are signed before the timed run, as
 * the token benchmark pre-mints its codes. A first, small pool warms the endpoint up and shows its
 * rate, which sizes the pool for the timed run; every request exchanges the same fresh ID token.
 */
async function exchangeBench(p: Prepared): Promise<Measurement> {
  const { apiKey, tokenUrl } = p.careid.ready.platform
  const subject = await idToken(p)
  const sign = async (count: number) => {
    const pool: string[] = []
    for (let i = 0; i < count; i++) pool.push(await clientAssertion(p.key, apiKey, tokenUrl))
    return pool
  }
  // autocannon builds one request per connection before it starts; those assertions are never sent.
  const spare = 2 * connections
  const run = (pool: string[], maxSeconds: number) => {
    let next = 0
    return cannon([p.careid.pid], {
      urls: [tokenUrl],
      method: 'POST',
      headers: formHeaders,
      connections,
      warmupSeconds: 0,
      amount: Math.max(connections, pool.length - spare),
      maxSeconds,
      nextRequest: () => ({ body: exchangeBody(subject, pool[next++] ?? 'exhausted') }),
    })
  }
  const warm = await run(await sign(400), 6)
  const size = Math.min(maxAssertionPool, Math.max(1_000, Math.ceil(warm.rate * p.seconds * 1.15)))
  return run(await sign(size + spare), p.seconds * 2)
}

/** The targets of issue 17: the gateway's read and search against the bare route. */
const floors = { read: 0.3, search: 0.15 }
/** Token exchange is to be bounded by its signature checks: at least this share of the server's CPU. */
const signatureShareFloor = 0.6

function tableOf(bare: Measurement, rows: PlatformRow[], signatures: PlatformResults['signatures']): string {
  const out = heading('server')
  out.push(line(['bare JSON route', 'Fastify, no auth', ...side(bare)]))
  for (const r of rows) {
    const flag = r.careid.errors > 0 ? ' !' : ''
    out.push(line([`${r.label}${flag}`, 'Careid platform', ...side(r.careid)]))
    if (r.bare !== undefined) out.push(line([`  (${r.unit})`, ...ratio(r.careid, r.bare).map((c, i) => (i === 0 ? 'ratio over bare' : c))]))
    else out.push(line([`  (${r.unit})`, `signature checks ${(signatures.share * 100).toFixed(1)}% of its CPU`]))
  }
  return out.join('\n')
}

function checksOf(rows: PlatformRow[], unit: UnitCosts, signatures: PlatformResults['signatures']): TargetCheck[] {
  const row = (key: PlatformRow['key']) => rows.find((r) => r.key === key) as PlatformRow
  const atLeast = (key: 'read' | 'search', what: string): TargetCheck => {
    const r = row(key)
    const bare = r.bare as Measurement
    const byRate = r.careid.rate / bare.rate
    const byCpu = perCpu(r.careid) / perCpu(bare)
    return {
      target: `${what} at least ${floors[key]}× the bare route (by rate and per core-second)`,
      met: byRate >= floors[key] && byCpu >= floors[key],
      detail: `rate ${times(byRate)}; per core-second ${times(byCpu)}; p99 ${times(r.careid.p99Ms / bare.p99Ms)}`,
    }
  }
  const x = row('exchange').careid
  return [
    atLeast('read', 'Patient read by NHS number through the gateway (token check, role resolution, store read, FHIR JSON)'),
    atLeast('search', 'Patient search by family name and birthdate through the gateway'),
    {
      target: `token exchange bounded by its signature checks: at least ${signatureShareFloor * 100}% of the server's CPU`,
      met: signatures.share >= signatureShareFloor,
      detail: `${(signatures.share * 100).toFixed(1)}%: ${x.count} exchanges × (RS512 ${unit.rs512VerifyMs.toFixed(3)} ms + RS256 ${unit.rs256VerifyMs.toFixed(3)} ms) over ${x.serverCpuSeconds.toFixed(2)} CPU-s; ${((x.serverCpuSeconds * 1000) / x.count).toFixed(2)} ms CPU per exchange, ${rate(perCpu(x))} per core-second`,
    },
  ]
}

function notesOf(p: Prepared, bareBytes: number, rounds: number): string[] {
  return [
    `Careid (provider and platform as \`careid start\` runs them, one process, the platform on its own port) and the bare route each in a child process pinned to core ${serverCore}, compiled as \`careid\` runs; the load generator on the other core. Benchmarks take turns each round: bare route, read, search, exchange${rounds > 1 ? `; ${rounds} rounds, each figure the round with the median rate` : ''}.`,
    `Careid on its embedded SQLite store with the demo workforce and the demo population (10,000 patients, seed as the demo's); the gateway's per-application rate limit raised (--api-rate-limit, from 5 per second) so the load is never refused.`,
    `One application registered with the platform (inline JWKS, one 2048-bit RSA key held by the load generator; subscribed to the Patient API at AAL3 and AAL2) and as a CIS2 client of the provider. The worker (${p.worker.username}, one role) signs in once at AAL2 (password and authenticator app); each exchange benchmark uses a fresh ID token from that session (single sign-on).`,
    `Token exchange: autocannon, ${connections} connections, a pool of RS512 client assertions signed beforehand (each a fresh jti, aud the platform's token URL), ~${p.seconds} s; every request exchanges the same ID token.`,
    `Read and search: autocannon, ${connections} connections, 1 s warm-up + ${p.seconds} s, one platform access token (from one exchange), NHSD-Session-URID the worker's role, a fresh X-Request-ID UUID per request; reads cycle through the ${p.asks.readPaths.length} active NHS numbers of the population, searches through their family name and birthdate (eq).`,
    `Bare route: Fastify, no logs, no auth, no store, GET /Patient/:id answering one fixed Patient of the population (${bareBytes} bytes of JSON), asked with the same paths and headers.`,
  ]
}

/** Runs the platform's benchmarks on servers of their own, stopped before it returns. */
export async function platformBenchmarks(options: PlatformOptions, unit: UnitCosts): Promise<PlatformResults> {
  const p = await start(options)
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const idleRss = { careid: rssOf([p.careid.pid]), bare: rssOf([p.bare.pid]) }
    const taken: { bare: Measurement[]; read: Measurement[]; search: Measurement[]; exchange: Measurement[] } = { bare: [], read: [], search: [], exchange: [] }
    for (let round = 1; round <= options.rounds; round++) {
      const accessToken = await exchange(p)
      await checkAnswers(p, accessToken)
      process.stderr.write(`platform${options.rounds > 1 ? ` (round ${round} of ${options.rounds})` : ''}: bare route…`)
      const steps: [keyof typeof taken, string, () => Promise<Measurement>][] = [
        ['bare', 'bare route', () => bareBench(p, accessToken)],
        ['read', 'read', () => apiBench(p, p.asks.readPaths, accessToken)],
        ['search', 'search', () => apiBench(p, p.asks.searchPaths, accessToken)],
        ['exchange', 'exchange', () => exchangeBench(p)],
      ]
      for (const [key, label, run] of steps) {
        if (key !== 'bare') process.stderr.write(`; ${label}…`)
        const m = await run()
        taken[key].push(m)
        process.stderr.write(` ${rate(m.rate)}/s`)
      }
      process.stderr.write('\n')
    }
    const bare = medianRound(taken.bare)
    const rows: PlatformRow[] = [
      { key: 'read', label: 'Patient read', unit: 'req/s', careid: medianRound(taken.read), bare },
      { key: 'search', label: 'Patient search', unit: 'req/s', careid: medianRound(taken.search), bare },
      { key: 'exchange', label: 'token exchange', unit: 'req/s', careid: medianRound(taken.exchange) },
    ]
    const x = (rows[2] as PlatformRow).careid
    const msPerExchange = unit.rs512VerifyMs + unit.rs256VerifyMs
    const signatures = { msPerExchange, share: (x.count * msPerExchange) / (x.serverCpuSeconds * 1000) }
    const failures = [['bare route', bare] as const, ...rows.map((r) => [r.label, r.careid] as const)]
      .filter(([, m]) => m.errors > 0)
      .map(([label, m]) => `${label}: ${m.errors} failed (${m.firstError})`)
    return {
      bare,
      rows,
      idleRss,
      signatures,
      table: tableOf(bare, rows, signatures),
      checks: checksOf(rows, unit, signatures),
      notes: notesOf(p, p.bare.ready.bytes, options.rounds),
      failures,
    }
  } finally {
    await Promise.all([p.careid.stop(), p.bare.stop()])
  }
}

/**
 * `--profile=platform`: Careid's child under the profiler (from sources), under the read, search
 * and exchange loads in turn, and where each load's time went on its main thread (the thread with
 * the most busy time in the load's window; tsx's loader runs in another).
 */
export async function profilePlatform(options: PlatformOptions & { profileDir: string }): Promise<string[]> {
  const p = await start(options)
  const windows: { label: string; m: Measurement }[] = []
  try {
    const accessToken = await exchange(p)
    await checkAnswers(p, accessToken)
    windows.push({ label: 'Patient read', m: await apiBench(p, p.asks.readPaths, accessToken) })
    windows.push({ label: 'Patient search', m: await apiBench(p, p.asks.searchPaths, accessToken) })
    windows.push({ label: 'token exchange', m: await exchangeBench(p) })
  } finally {
    // The profiles are written as the process exits.
    await Promise.all([p.careid.stop(), p.bare.stop()])
  }
  const files = readdirSync(options.profileDir).map((file) => join(options.profileDir, file))
  return windows.map(({ label, m }) => {
    const main = files.map((file) => summarise(file, m.window.fromUs, m.window.toUs)).sort((a, b) => b.busy - a.busy)[0]
    const head = `Careid ${label} under the profiler: ${rate(m.rate)}/s, ${rate(perCpu(m))} per core-second`
    return main === undefined ? head : `${head}\n${formatSummary(`Profile (${label}, main thread)`, main)}`
  })
}
