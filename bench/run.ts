/**
 * `npm run bench`: Careid against oidc-provider, set up alike, in the same run; Careid scaled
 * out on PostgreSQL + Redis, one node and two, against Careid on its embedded store; and the API
 * Platform (bench/platform.ts): token exchange, and a Patient read and search through the gateway,
 * against a bare Fastify JSON route on the same machine. Each server
 * runs in its own child process pinned to core 0; this process (the load generator) pins itself to
 * core 1, which a second node shares. The benchmarks take turns (every server, for each), so drift
 * in a shared machine's load touches all alike. Prints the tables, the targets, then the results
 * as JSON.
 *
 * `npm run bench -- --stores=embedded,postgres`: only the stores named (`embedded`, with
 * oidc-provider beside it; `postgres`, one node; `postgres-2`, two nodes); the default is all three.
 * PostgreSQL and Redis are the machine's (BENCH_DATABASE_URL, BENCH_REDIS_URL to change), in a
 * fresh schema and key prefix removed at the end; if they cannot be reached, the run says so and
 * measures the embedded store alone.
 *
 * `npm run bench -- --only=platform`: the API Platform's benchmarks alone (`--only=provider`: all but
 * them); `--seconds=2` shortens each of the platform's timed windows (6 s by default).
 *
 * `npm run bench -- --rounds=3`: each benchmark run three times on every server (in turn, as
 * always), each figure then the round with the median rate: steadier ratios on a noisy machine.
 *
 * `npm run bench -- --profile`: Careid alone under the token and the SSO journey loads, each with
 * `node --cpu-prof` in the server, and where its time went (`--profile=discovery,password` for
 * others; `--stores=postgres` for a node on PostgreSQL + Redis; `--profile=platform` for the API
 * Platform's read, search and exchange loads).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { demoCredentials, demoWorkforce } from '@careid/domain'
import { cis2RealmPath, resolveSettings } from '../packages/cli/src/settings.ts'
import { CookieJar } from '../test/support/cookie_jar.ts'
import { freePort } from '../test/support/free_port.ts'
import { jwsHeader, onEveryNode, redeem, signIn, ssoCode, tokenRequestBody, userinfo } from './client.ts'
import { measureUnitCosts, type UnitCosts } from './ceilings.ts'
import { cannon, collect, journeys, medianRound, type Measurement } from './load.ts'
import { generatorBusy, heading, line, mb, ms, perCpu, rate, ratio, side, times } from './format.ts'
import { formatSummary, summarise } from './profile.ts'
import { generatorCore, pinSelf, rssOf, serverCore, startServer, type ServerProcess } from './processes.ts'
import { platformBenchmarks, profilePlatform, type PlatformResults, type Worker } from './platform.ts'
import { openSharedServices, type SharedServices } from './scaled_out.ts'
import type { ServerReady, Target } from './target.ts'

const connections = 32
const ssoWorkers = 16
const passwordWorkers = 8
const requestSeconds = 6
const journeySeconds = 6
const passwordSeconds = 8
/** The token benchmark redeems a pool of codes minted beforehand; never more than this many. */
const maxCodePool = 15_000
/** Never contacted: the code is read from the redirect's Location. */
const redirectUri = 'http://127.0.0.1:9/callback'
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' }

/** Who signs in on both servers: the first of the demo workforce, with its demo password. */
const account = (() => {
  const person = demoWorkforce[0]
  const password = person === undefined ? undefined : demoCredentials[person.uid]?.password
  if (person === undefined || password === undefined) throw new Error('the demo workforce has no one with a password')
  return { uid: person.uid, username: person.username, password, given_name: person.given_name, family_name: person.family_name }
})()

/** What a target was seen to do before the timed runs, for the set-up section of the output. */
interface Observed {
  idTokenAlg: string
  accessToken: string
  userinfoAccessToken: string
  jwtAtUserinfo: string
}

interface Prepared {
  target: Target
  /** One browser per SSO worker, each with a live session. */
  jars: CookieJar[]
  userinfoToken: string
  observed: Observed
}

/** A server under test: its processes (one per node) and where requests go. */
interface Server {
  name: string
  processes: ServerProcess<ServerReady>[]
  /** The issuer's origin. */
  origin: string
  /** One origin per node, taken in turn. */
  nodes: string[]
}

interface StartOptions {
  nodeArgs?: string[]
  /** Run the sources through tsx (for the profiler) rather than compiled. */
  fromSources?: boolean
  core?: number
  /** The issuer's origin, when the node serves an issuer shared with others. */
  origin?: string
  env?: Record<string, string>
}

async function startNode(name: string, script: string, options: StartOptions = {}): Promise<{ process: ServerProcess<ServerReady>; origin: string }> {
  const port = await freePort()
  const node = `http://127.0.0.1:${port}`
  const env = {
    BENCH_PORT: String(port),
    BENCH_ISSUER: `${options.origin ?? node}${cis2RealmPath}`,
    BENCH_REDIRECT_URI: redirectUri,
    BENCH_USERNAME: account.username,
    BENCH_ACCOUNT: JSON.stringify(account),
    ...options.env,
  }
  const server = await startServer<ServerReady>(script, env, { nodeArgs: options.nodeArgs, core: options.core, fromSources: options.fromSources })
  process.stderr.write(`${name} started (pid ${server.pid}, ${node}, core ${options.core ?? serverCore})\n`)
  return { process: server, origin: node }
}

async function startTarget(name: string, script: string, options: StartOptions = {}): Promise<Server> {
  const { process: server, origin } = await startNode(name, script, options)
  return { name, processes: [server], origin, nodes: [origin] }
}

/** The environment that makes careid_server.ts a node on the shared PostgreSQL + Redis. */
function scaledOutEnv(services: SharedServices, node: 'first' | 'further'): Record<string, string> {
  return {
    BENCH_DATABASE_URL: services.databaseUrl,
    BENCH_REDIS_URL: services.redisUrl,
    BENCH_DATABASE_SCHEMA: services.schema,
    BENCH_KEY_ENCRYPTION_KEY: services.keyEncryptionKey,
    BENCH_NODE: node,
  }
}

function describeToken(token: string): string {
  const header = jwsHeader(token)
  return header === undefined ? 'opaque' : `JWT ${String(header.alg)}`
}

async function prepare(server: Server): Promise<Prepared> {
  const { name, origin } = server
  const ready = (server.processes[0] as ServerProcess<ServerReady>).ready
  const discovery = (await (await fetch(`${ready.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>
  const target: Target = {
    ...ready,
    pids: server.processes.map((p) => p.pid),
    origin,
    nodes: server.nodes,
    redirectUri,
    user: account,
    endpoints: {
      discovery: `${ready.issuer}/.well-known/openid-configuration`,
      jwks: discovery.jwks_uri as string,
      authorization: discovery.authorization_endpoint as string,
      token: discovery.token_endpoint as string,
      userinfo: discovery.userinfo_endpoint as string,
    },
  }
  const jars = Array.from({ length: ssoWorkers }, () => new CookieJar())
  // The SSO sessions, signed in a few at a time (each costs an argon2id verification).
  for (let i = 0; i < jars.length; i += 4) await Promise.all(jars.slice(i, i + 4).map((jar) => signIn(target, target.clients.jwt, jar)))
  const first = jars[0] as CookieJar
  const jwtTokens = await redeem(target, target.clients.jwt, await ssoCode(target, target.clients.jwt, first))
  const jwtAtUserinfo = await userinfo(target, jwtTokens.access_token).then(
    () => 'accepted',
    (error: Error) => `refused (${error.message.slice(0, 120)})`,
  )
  const userinfoTokens = await redeem(target, target.clients.userinfo, await ssoCode(target, target.clients.userinfo, first))
  const claims = await userinfo(target, userinfoTokens.access_token)
  if (claims.sub !== account.uid) throw new Error(`${name}: userinfo answered for ${String(claims.sub)}`)
  return {
    target,
    jars,
    userinfoToken: userinfoTokens.access_token,
    observed: {
      idTokenAlg: describeToken(jwtTokens.id_token),
      accessToken: describeToken(jwtTokens.access_token),
      userinfoAccessToken: describeToken(userinfoTokens.access_token),
      jwtAtUserinfo,
    },
  }
}

function discoveryBench({ target }: Prepared): Promise<Measurement> {
  return cannon(target.pids, { urls: onEveryNode(target, target.endpoints.discovery), connections, warmupSeconds: 1, durationSeconds: requestSeconds })
}

function jwksBench({ target }: Prepared): Promise<Measurement> {
  return cannon(target.pids, { urls: onEveryNode(target, target.endpoints.jwks), connections, warmupSeconds: 1, durationSeconds: requestSeconds })
}

function userinfoBench({ target, userinfoToken }: Prepared): Promise<Measurement> {
  return cannon(target.pids, { urls: onEveryNode(target, target.endpoints.userinfo), headers: { authorization: `Bearer ${userinfoToken}` }, connections, warmupSeconds: 1, durationSeconds: requestSeconds })
}

/**
 * Each token request needs a code nobody redeemed: codes are minted from the SSO sessions before
 * the timed run. A first, small pool warms the endpoint up and shows its rate, which sizes the pool
 * for the timed run (codes live 60 s on both servers, so minting is bounded well within that).
 */
async function tokenBench({ target, jars }: Prepared): Promise<Measurement> {
  const client = target.clients.jwt
  const mint = (count: number, maxSeconds: number) => collect(count, jars.length, maxSeconds, (w) => ssoCode(target, client, jars[w] as CookieJar))
  // autocannon builds one request per connection before it starts; those codes are never sent.
  const spare = 2 * connections
  const run = (codes: string[], maxSeconds: number) => {
    let next = 0
    return cannon(target.pids, {
      urls: onEveryNode(target, target.endpoints.token),
      method: 'POST',
      headers: formHeaders,
      connections,
      warmupSeconds: 0,
      amount: Math.max(connections, codes.length - spare),
      maxSeconds,
      nextRequest: () => ({ body: tokenRequestBody(target, client, codes[next++] ?? 'exhausted') }),
    })
  }
  const warm = await run(await mint(1_500, 10), 6)
  const size = Math.min(maxCodePool, Math.max(2_000, Math.ceil(warm.rate * requestSeconds * 1.15)))
  const codes = await mint(size + spare, 25)
  return run(codes, requestSeconds * 2)
}

/** Single sign-on with an existing session: authorize → code (redirect) → token → userinfo. */
function ssoBench({ target, jars }: Prepared): Promise<Measurement> {
  const client = target.clients.userinfo
  return journeys(target.pids, {
    concurrency: ssoWorkers,
    warmupSeconds: 1.5,
    durationSeconds: journeySeconds,
    async journey(worker) {
      const code = await ssoCode(target, client, jars[worker] as CookieJar)
      const tokens = await redeem(target, client, code)
      await userinfo(target, tokens.access_token)
    },
  })
}

/** A first sign-in in a new browser: authorize → form → POST username and password → code → token. */
function passwordBench({ target }: Prepared): Promise<Measurement> {
  const client = target.clients.jwt
  return journeys(target.pids, {
    concurrency: passwordWorkers,
    warmupSeconds: 2,
    durationSeconds: passwordSeconds,
    async journey() {
      const code = await signIn(target, client, new CookieJar())
      await redeem(target, client, code)
    },
  })
}

interface Benchmark {
  key: string
  label: string
  unit: string
  run(prepared: Prepared): Promise<Measurement>
}

const benchmarks: Benchmark[] = [
  { key: 'discovery', label: 'discovery', unit: 'req/s', run: discoveryBench },
  { key: 'jwks', label: 'jwks', unit: 'req/s', run: jwksBench },
  { key: 'userinfo', label: 'userinfo', unit: 'req/s', run: userinfoBench },
  { key: 'token', label: 'token (code exchange)', unit: 'req/s', run: tokenBench },
  { key: 'sso', label: 'SSO journeys', unit: 'journeys/s', run: ssoBench },
  { key: 'password', label: 'password sign-ins', unit: 'journeys/s', run: passwordBench },
]

/** The ways Careid is measured against its embedded store: one node on PostgreSQL + Redis, and two. */
type ScaledOut = 'postgres' | 'postgres2'

const scaledOutLabels: Record<ScaledOut, string> = { postgres: 'PG+Redis 1 node', postgres2: 'PG+Redis 2 nodes' }

interface Row {
  key: string
  label: string
  unit: string
  careid: Measurement
  oidcProvider: Measurement
  postgres?: Measurement | undefined
  postgres2?: Measurement | undefined
}

interface Idle {
  careid: number
  oidcProvider: number
  postgres?: number | undefined
  postgres2?: number | undefined
}

function table(rows: Row[], idle: Idle): string {
  const out = heading('server')
  for (const r of rows) {
    const flag = r.careid.errors + r.oidcProvider.errors > 0 ? ' !' : ''
    out.push(line([`${r.label}${flag}`, 'Careid', ...side(r.careid)]))
    out.push(line([`  (${r.unit})`, 'oidc-provider', ...side(r.oidcProvider)]))
    out.push(line(['', ...ratio(r.careid, r.oidcProvider)]))
  }
  out.push(line(['idle RSS (MB)', 'Careid', '', '', '', '', mb(idle.careid), '']))
  out.push(line(['', 'oidc-provider', '', '', '', '', mb(idle.oidcProvider), '']))
  return out.join('\n')
}

/** Careid scaled out against Careid on its embedded store; each ratio is over the embedded row. */
function scaledOutTable(rows: Row[], idle: Idle, kinds: ScaledOut[]): string {
  const out = heading('Careid store')
  for (const r of rows) {
    const flag = kinds.some((k) => (r[k]?.errors ?? 0) > 0) ? ' !' : ''
    out.push(line([`${r.label}${flag}`, 'embedded', ...side(r.careid)]))
    kinds.forEach((kind, i) => {
      const m = r[kind] as Measurement
      out.push(line([i === 0 ? `  (${r.unit})` : '', scaledOutLabels[kind], ...side(m)]))
      out.push(line(['', ...ratio(m, r.careid)]))
    })
  }
  out.push(line(['idle RSS (MB)', 'embedded', '', '', '', '', mb(idle.careid), '']))
  for (const kind of kinds) out.push(line(['', scaledOutLabels[kind], '', '', '', '', mb(idle[kind] as number), '']))
  return out.join('\n')
}

interface TargetCheck {
  target: string
  met: boolean
  detail: string
}

/**
 * The CPU milliseconds per request (or journey) that Careid cannot avoid: its RS256 signatures and
 * argon2id verifications. Undefined where no such floor is worth stating.
 */
function floorMs(key: string, unit: UnitCosts): number | undefined {
  switch (key) {
    case 'token':
    case 'sso':
      // An ID token and a JWT access token per token response.
      return 2 * unit.rs256SignMs
    case 'password':
      return unit.argon2VerifyMs + 2 * unit.rs256SignMs
    default:
      return undefined
  }
}

function checkTargets(rows: Row[], idle: { careid: number; oidcProvider: number }, unit: UnitCosts): TargetCheck[] {
  const row = (key: string) => rows.find((r) => r.key === key) as Row
  const atLeast = (key: string, factor: number): TargetCheck => {
    const r = row(key)
    const byRate = r.careid.rate / r.oidcProvider.rate
    const byCpu = perCpu(r.careid) / perCpu(r.oidcProvider)
    const floor = floorMs(key, unit)
    // oidc-provider's CPU per success over Careid's unavoidable work: no Careid could do better.
    const ceiling = floor === undefined ? '' : `; at most ${times((r.oidcProvider.serverCpuSeconds * 1000) / r.oidcProvider.count / floor)} for any server doing Careid's ${key === 'password' ? 'argon2id and signatures' : 'two signatures'} (${floor.toFixed(2)} ms CPU)`
    return {
      target: `${r.label}: at least ${factor}× oidc-provider`,
      met: byRate >= factor,
      detail: `rate ${times(byRate)}; per core-second ${times(byCpu)} (${byCpu >= factor ? 'met' : 'not met'} that way)${ceiling}`,
    }
  }
  const p99s = rows.map((r) => ({ label: r.label, ratio: r.careid.p99Ms / r.oidcProvider.p99Ms }))
  const password = row('password').careid
  return [
    atLeast('discovery', 3),
    atLeast('jwks', 3),
    atLeast('sso', 3),
    atLeast('token', 1.5),
    {
      target: 'Careid p99 at most half of oidc-provider’s at saturation (every benchmark)',
      met: p99s.every((p) => p.ratio <= 0.5),
      detail: p99s.map((p) => `${p.label} ${times(p.ratio)}`).join(', '),
    },
    { target: 'Careid idle RSS no higher than oidc-provider’s', met: idle.careid <= idle.oidcProvider, detail: `${mb(idle.careid)} MB vs ${mb(idle.oidcProvider)} MB` },
    atLeast('password', 1.2),
    {
      target: 'password sign-ins above 15/s per core',
      met: password.rate > 15,
      detail: `${rate(password.rate)}/s on its core (${(password.serverCpuSeconds / password.seconds).toFixed(2)} of it used); ${rate(perCpu(password))} per core-second`,
    },
  ]
}

function notes(careid: Prepared, oidcProvider: Prepared, unit: UnitCosts, rounds: number): string[] {
  const o = oidcProvider.observed
  const c = careid.observed
  return [
    `Servers pinned to core ${serverCore} (taskset -c ${serverCore}), one child process each, compiled to JavaScript as \`careid\` runs (no TypeScript loader in any server); load generator on core ${generatorCore}. Benchmarks alternate: Careid, then oidc-provider (then Careid scaled out, below)${rounds > 1 ? `, ${rounds} rounds of each; every figure is its server's round with the median rate` : ''}.`,
    `Issuer shape (CIS2 realm path) and endpoint paths alike; RS256 2048-bit keys; PKCE S256; client_secret_post; scope "openid profile"; no refresh tokens.`,
    `autocannon, ${connections} connections, 1 s warm-up + ${requestSeconds} s (token: a pool of pre-minted codes, one per request, ~${requestSeconds} s); journeys: fetch keep-alive, ${ssoWorkers} workers (SSO) / ${passwordWorkers} (password), ${journeySeconds} s / ${passwordSeconds} s after a warm-up.`,
    `Token responses: Careid ID token ${c.idTokenAlg} + access token ${c.accessToken}; oidc-provider ID token ${o.idTokenAlg} + access token ${o.accessToken} (resource indicators, accessTokenFormat jwt).`,
    `oidc-provider's userinfo with its JWT access token: ${o.jwtAtUserinfo}. So on oidc-provider the userinfo benchmark and the SSO journeys use a client whose access tokens are ${o.userinfoAccessToken} (one RS256 signature per SSO journey there, two on Careid, whose userinfo takes its ${c.userinfoAccessToken} access token).`,
    `Password hashing: argon2id via @node-rs/argon2 on both; Careid's stored hash ${careid.target.argon2}, oidc-provider's ${oidcProvider.target.argon2}.`,
    `Unavoidable work, timed on the load generator's core: one RS256 signature ${unit.rs256SignMs.toFixed(2)} ms CPU, one argon2id verification ${unit.argon2VerifyMs.toFixed(1)} ms CPU.`,
    `Storage: Careid writes every code, grant, session and interaction to its embedded SQLite store (WAL, in a temp dir); oidc-provider keeps everything in its in-memory adapter (nothing durable; its LRU raised from 1,000 to 100,000 entries so the pre-minted codes survive).`,
    `Rate limits: Careid counts every token request and sign-in post in its store (one write each; limits raised so the load is never refused); oidc-provider has none.`,
  ]
}

function scaledOutNotes(services: SharedServices, kinds: ScaledOut[]): string[] {
  return [
    `Careid as scaled out (README "Scaling out"): durable records in PostgreSQL (schema ${services.schema}, made for this run and dropped after it; ${resolveSettings({}, {}).dbPoolSize} connections per node (the default)), codes, sessions, sign-in journeys, single-use markers and rate counters in Redis (keys careid:${services.schema}:…, deleted after the run); one CAREID_KEY_ENCRYPTION_KEY for every node.`,
    ...(kinds.includes('postgres') ? [`1 node: Careid pinned to core ${serverCore}, load generator on core ${generatorCore}, as for the embedded store.`] : []),
    ...(kinds.includes('postgres2')
      ? [
          `2 nodes: one Careid process per core (node A on core ${serverCore}, node B on core ${generatorCore}, B started with --no-demo as production nodes are), sharing the issuer; the load generator spreads requests over them in turn (autocannon: connections alternate between the nodes; journeys: every request goes to the next node, so a journey's steps land on either), as a round-robin load balancer would. The load generator shares core ${generatorCore} with node B.`,
        ]
      : []),
    `PostgreSQL and Redis are the machine's own services, not pinned: they run on either core, sharing both with the servers and the load generator (and with anything else on this machine). Their CPU is not in "cores" or "per core-s", which count the Careid node processes only.`,
  ]
}

/** The scaled-out target: one node on PostgreSQL + Redis keeps most of the embedded store's rate. */
const scaledOutFloor = 0.8

function checkScaledOut(rows: Row[]): TargetCheck[] {
  return ['token', 'sso', 'password'].flatMap((key) => {
    const r = rows.find((row) => row.key === key) as Row
    const m = r.postgres
    if (m === undefined) return []
    const byRate = m.rate / r.careid.rate
    return [
      {
        target: `${r.label}: PostgreSQL + Redis, 1 node, at least ${scaledOutFloor * 100}% of the embedded store`,
        met: byRate >= scaledOutFloor,
        detail: `rate ${times(byRate)}; per core-second of the node ${times(perCpu(m) / perCpu(r.careid))}`,
      },
    ]
  })
}

/** The worker the platform benchmarks sign in: the same person, whose one role the API calls act in. */
const platformWorker: Worker = (() => {
  const roleId = demoWorkforce[0]?.positions[0]?.person_roleid
  if (roleId === undefined || demoWorkforce[0]?.positions.length !== 1) throw new Error('the first of the demo workforce must hold exactly one role')
  return { uid: account.uid, username: account.username, password: account.password, roleId }
})()

/** --only=provider (Careid against oidc-provider, and scaled out) or --only=platform (the API Platform's benchmarks); both by default. */
function selectedOnly(): 'provider' | 'platform' | undefined {
  const arg = process.argv.find((a) => a.startsWith('--only='))
  if (arg === undefined) return undefined
  const only = arg.slice('--only='.length)
  if (only !== 'provider' && only !== 'platform') throw new Error(`no part '${only}'; there are provider (Careid against oidc-provider, and scaled out) and platform (token exchange, Patient read and search)`)
  return only
}

/** --seconds=N (1 to 60, default requestSeconds): the timed window of each of the platform's benchmarks. */
function selectedSeconds(): number {
  const arg = process.argv.find((a) => a.startsWith('--seconds='))
  if (arg === undefined) return requestSeconds
  const seconds = Number(arg.slice('--seconds='.length))
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) throw new Error('--seconds must be a whole number from 1 to 60')
  return seconds
}

const legend = [
  '',
  'rate: successes per second of wall time; p99 of successful requests (journeys: whole journeys);',
  'cores: CPU the server used (all its nodes and threads) per second of wall time, out of its one core (two for',
  'two nodes), which it shares with whatever else runs there; per core-s: successes per CPU-second of the server,',
  `steadier than rate on a busy machine; RSS: before the benchmark → highest during it (all nodes); gen cores: the`,
  `load generator's CPU (* above ${generatorBusy}: it may be the limit).`,
].join('\n')

function printPlatform(platform: PlatformResults): void {
  console.log(`\nAPI Platform: the Patient API through the gateway against a bare Fastify JSON route (ratios over the bare route), and token exchange\n`)
  console.log(platform.table)
  console.log(line(['idle RSS (MB)', 'Careid platform', '', '', '', '', mb(platform.idleRss.careid), '']))
  console.log(line(['', 'Fastify, no auth', '', '', '', '', mb(platform.idleRss.bare), '']))
}

function platformJson(platform: PlatformResults): Record<string, unknown> {
  return { platform: { bare: platform.bare, results: platform.rows, idleRss: platform.idleRss, signatures: platform.signatures, setup: platform.notes } }
}

/** --only=platform: the API Platform's benchmarks alone. */
async function platformOnly(): Promise<void> {
  const started = performance.now()
  const unit = await measureUnitCosts()
  try {
    const platform = await platformBenchmarks({ worker: platformWorker, rounds: selectedRounds(), seconds: selectedSeconds(), cleanups }, unit)
    console.log(`\nCareid's API Platform — ${new Date().toISOString()}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    printPlatform(platform)
    console.log(legend)
    if (platform.failures.length > 0) console.log(`\n! Failures (these rows are not comparable):\n  ${platform.failures.join('\n  ')}`)
    console.log('\nSet-up:')
    for (const note of platform.notes) console.log(`  - ${note}`)
    console.log(`  - Unavoidable work of an exchange, timed on the load generator's core: one RS512 verification (2048-bit) ${unit.rs512VerifyMs.toFixed(3)} ms CPU, one RS256 verification ${unit.rs256VerifyMs.toFixed(3)} ms CPU.`)
    console.log('\nTargets:')
    for (const check of platform.checks) console.log(`  [${check.met ? 'met' : 'NOT met'}] ${check.target}: ${check.detail}`)
    console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)\n`)
    console.log(JSON.stringify({ at: new Date().toISOString(), node: process.version, loadavg: loadavg(), unitCosts: unit, ...platformJson(platform), targets: platform.checks }, null, 2))
  } finally {
    await cleanUp()
  }
}

/** Reads --stores=…; the default is every store. */
function selectedStores(): { embedded: boolean; kinds: ScaledOut[] } {
  const arg = process.argv.find((a) => a.startsWith('--stores='))
  const names = arg === undefined ? ['embedded', 'postgres', 'postgres-2'] : arg.slice('--stores='.length).split(',')
  const known: Record<string, ScaledOut | 'embedded'> = { embedded: 'embedded', postgres: 'postgres', 'postgres-2': 'postgres2' }
  const unknown = names.filter((n) => known[n] === undefined)
  if (unknown.length > 0) throw new Error(`no store '${unknown.join(', ')}'; there are embedded, postgres (one node on PostgreSQL + Redis), postgres-2 (two nodes)`)
  const picked = names.map((n) => known[n])
  return { embedded: picked.includes('embedded'), kinds: (['postgres', 'postgres2'] as const).filter((k) => picked.includes(k)) }
}

/** --rounds=N (1 to 9, default 1): how many times each benchmark runs on every server. */
function selectedRounds(): number {
  const arg = process.argv.find((a) => a.startsWith('--rounds='))
  if (arg === undefined) return 1
  const rounds = Number(arg.slice('--rounds='.length))
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new Error('--rounds must be a whole number from 1 to 9')
  return rounds
}

async function stopAll(servers: ServerProcess<ServerReady>[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()))
}

/** Everything to undo however the run ends: servers to stop, then the run's schema and keys. */
const cleanups: (() => Promise<void>)[] = []

async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) {
    await step().catch((error: unknown) => process.stderr.write(`clean-up: ${(error as Error).message}\n`))
  }
}

// Ctrl-C: the servers, the schema and the Redis keys go too.
process.once('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130))
})

/** Opens the shared services, or says why Careid is not measured on them, and registers their removal. */
async function sharedServices(): Promise<SharedServices | undefined> {
  const services = await openSharedServices()
  if ('unavailable' in services) {
    process.stderr.write(`${services.unavailable}: Careid is measured on its embedded store only.\n`)
    return undefined
  }
  cleanups.push(() => services.remove())
  return services
}

/** Node A (core 0, seeds the demo workforce and registers the client), then node B (core 1) if asked. */
type Node = Awaited<ReturnType<typeof startNode>>

async function startScaledOut(services: SharedServices, twoNodes: boolean, profiled?: Pick<StartOptions, 'nodeArgs' | 'fromSources'>): Promise<{ a: Node; b?: Node | undefined }> {
  const a = await startNode('Careid on PostgreSQL + Redis, node A', './careid_server.ts', { ...profiled, env: scaledOutEnv(services, 'first') })
  cleanups.push(() => a.process.stop())
  if (!twoNodes) return { a }
  const b = await startNode('Careid on PostgreSQL + Redis, node B', './careid_server.ts', { core: generatorCore, origin: a.origin, env: scaledOutEnv(services, 'further') })
  cleanups.push(() => b.process.stop())
  return { a, b }
}

async function compare(): Promise<void> {
  const started = performance.now()
  const stores = selectedStores()
  const rounds = selectedRounds()
  if (!stores.embedded) throw new Error('--stores must include embedded: the other stores are measured against it')
  const services = stores.kinds.length === 0 ? undefined : await sharedServices()
  const kinds = services === undefined ? [] : stores.kinds
  const unit = await measureUnitCosts()
  try {
    const servers: Partial<Record<'careid' | 'oidcProvider' | ScaledOut, Server>> = {}
    const careidServer = await startTarget('Careid', './careid_server.ts')
    cleanups.push(() => stopAll(careidServer.processes))
    const oidcServer = await startTarget('oidc-provider', './oidc_provider_server.ts')
    cleanups.push(() => stopAll(oidcServer.processes))
    servers.careid = careidServer
    servers.oidcProvider = oidcServer
    if (services !== undefined && kinds.length > 0) {
      const { a, b } = await startScaledOut(services, kinds.includes('postgres2'))
      if (kinds.includes('postgres')) servers.postgres = { name: scaledOutLabels.postgres, processes: [a.process], origin: a.origin, nodes: [a.origin] }
      if (b !== undefined) servers.postgres2 = { name: scaledOutLabels.postgres2, processes: [a.process, b.process], origin: a.origin, nodes: [a.origin, b.origin] }
    }
    // Idle: all up, nothing asked of any yet.
    await new Promise((resolve) => setTimeout(resolve, 2_000))
    const idleOf = (s: Server | undefined) => (s === undefined ? undefined : rssOf(s.processes.map((p) => p.pid)))
    const idle: Idle = { careid: idleOf(servers.careid) as number, oidcProvider: idleOf(servers.oidcProvider) as number, postgres: idleOf(servers.postgres), postgres2: idleOf(servers.postgres2) }
    const careid = await prepare(servers.careid)
    const oidcProvider = await prepare(servers.oidcProvider)
    const scaled: Partial<Record<ScaledOut, Prepared>> = {}
    for (const kind of kinds) scaled[kind] = await prepare(servers[kind] as Server)
    const rows: Row[] = []
    for (const b of benchmarks) {
      const taken: { careid: Measurement[]; oidcProvider: Measurement[] } & Partial<Record<ScaledOut, Measurement[]>> = { careid: [], oidcProvider: [] }
      for (let round = 1; round <= rounds; round++) {
        process.stderr.write(`${b.label}${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}: Careid…`)
        const c = await b.run(careid)
        taken.careid.push(c)
        process.stderr.write(` ${rate(c.rate)} ${b.unit}; oidc-provider…`)
        const o = await b.run(oidcProvider)
        taken.oidcProvider.push(o)
        process.stderr.write(` ${rate(o.rate)} ${b.unit}`)
        for (const kind of kinds) {
          process.stderr.write(`; ${scaledOutLabels[kind]}…`)
          const m = await b.run(scaled[kind] as Prepared)
          ;(taken[kind] ??= []).push(m)
          process.stderr.write(` ${rate(m.rate)} ${b.unit}`)
        }
        process.stderr.write('\n')
      }
      const row: Row = { key: b.key, label: b.label, unit: b.unit, careid: medianRound(taken.careid), oidcProvider: medianRound(taken.oidcProvider) }
      for (const kind of kinds) row[kind] = medianRound(taken[kind] as Measurement[])
      rows.push(row)
    }
    await cleanUp()
    // The platform's benchmarks, on servers of their own; if they cannot run, the figures above still print.
    let platformError: string | undefined
    const platform =
      selectedOnly() === 'provider'
        ? undefined
        : await platformBenchmarks({ worker: platformWorker, rounds, seconds: selectedSeconds(), cleanups }, unit).catch((error: unknown) => {
            platformError = `API Platform: not measured (${(error as Error).message.slice(0, 300)})`
            return undefined
          })

    const checks = [...checkTargets(rows, idle, unit), ...checkScaledOut(rows), ...(platform?.checks ?? [])]
    const failures: string[] = []
    for (const r of rows) {
      const measured: [string, Measurement | undefined][] = [['Careid', r.careid], ['oidc-provider', r.oidcProvider], ...kinds.map((k): [string, Measurement | undefined] => [`Careid ${scaledOutLabels[k]}`, r[k]])]
      for (const [name, m] of measured) {
        if (m !== undefined && m.errors > 0) failures.push(`${r.label} on ${name}: ${m.errors} failed (${m.firstError})`)
      }
    }
    const setup = [...notes(careid, oidcProvider, unit, rounds), ...(services === undefined ? [] : scaledOutNotes(services, kinds))]
    console.log(`\nCareid vs oidc-provider — ${new Date().toISOString()}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`)
    console.log(table(rows, idle))
    if (kinds.length > 0) {
      console.log(`\nCareid on PostgreSQL + Redis vs Careid on its embedded store (ratios over the embedded row)\n`)
      console.log(scaledOutTable(rows, idle, kinds))
    }
    if (platform !== undefined) printPlatform(platform)
    console.log(legend)
    failures.push(...(platform?.failures ?? []), ...(platformError === undefined ? [] : [platformError]))
    if (failures.length > 0) console.log(`\n! Failures (these rows are not comparable):\n  ${failures.join('\n  ')}`)
    console.log('\nSet-up:')
    for (const note of setup) console.log(`  - ${note}`)
    for (const note of platform?.notes ?? []) console.log(`  - API Platform: ${note}`)
    if (stores.kinds.length > 0 && services === undefined) console.log('  - PostgreSQL + Redis: not measured, as they could not be reached (see above).')
    console.log('\nTargets:')
    for (const check of checks) console.log(`  [${check.met ? 'met' : 'NOT met'}] ${check.target}: ${check.detail}`)
    console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)\n`)
    console.log(
      JSON.stringify(
        {
          at: new Date().toISOString(),
          node: process.version,
          loadavg: loadavg(),
          idleRss: idle,
          unitCosts: unit,
          setup,
          results: rows,
          ...(platform === undefined ? {} : platformJson(platform)),
          targets: checks,
        },
        null,
        2,
      ),
    )
  } finally {
    await cleanUp()
  }
}

/**
 * Each load in a fresh profiled server. Every thread writes its own profile (tsx's loader runs in
 * one), so the main thread's is the one with the most busy time in the load's window. With
 * --stores=postgres the server is one node on PostgreSQL + Redis.
 */
async function profile(keys: string[]): Promise<void> {
  const stores = selectedStores()
  const onPostgres = process.argv.some((a) => a.startsWith('--stores=')) && stores.kinds.includes('postgres')
  // Unreachable: sharedServices says so, and the embedded store is profiled instead.
  const services = onPostgres ? await sharedServices() : undefined
  const root = mkdtempSync(join(tmpdir(), 'careid-profile-'))
  try {
    for (const key of keys) {
      if (key === 'platform') {
        const dir = join(root, key)
        for (const text of await profilePlatform({ worker: platformWorker, rounds: 1, seconds: selectedSeconds(), cleanups, profileDir: dir })) console.log(`\n${text}`)
        continue
      }
      const bench = benchmarks.find((b) => b.key === key)
      if (bench === undefined) throw new Error(`no benchmark '${key}'; there are ${benchmarks.map((b) => b.key).join(', ')}`)
      const dir = join(root, key)
      const nodeArgs = ['--cpu-prof', '--cpu-prof-dir', dir]
      const server =
        services === undefined
          ? await startTarget('Careid (profiled)', './careid_server.ts', { nodeArgs, fromSources: true })
          : await startScaledOut(services, false, { nodeArgs, fromSources: true }).then(({ a }): Server => ({ name: scaledOutLabels.postgres, processes: [a.process], origin: a.origin, nodes: [a.origin] }))
      const process0 = server.processes[0] as ServerProcess<ServerReady>
      try {
        const m = await bench.run(await prepare(server))
        // The profiles are written as the process exits.
        await process0.stop()
        const summaries = readdirSync(dir).map((file) => summarise(join(dir, file), m.window.fromUs, m.window.toUs))
        const main = summaries.sort((a, b) => b.busy - a.busy)[0]
        console.log(`\nCareid ${services === undefined ? '' : `(${scaledOutLabels.postgres}) `}${bench.label} under the profiler: ${rate(m.rate)} ${bench.unit}, ${rate(perCpu(m))} per core-second, p99 ${ms(m.p99Ms)} ms${m.errors > 0 ? `, ${m.errors} failed (${m.firstError})` : ''}`)
        if (main !== undefined) console.log(formatSummary(`Profile (${bench.label}, main thread)`, main))
      } finally {
        await process0.stop()
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
    await cleanUp()
  }
}

if (availableParallelism() < 2) throw new Error('the benchmark needs two cores: one for the server, one for the load')
pinSelf()
// --profile: the token and SSO loads; --profile=discovery,password: the ones named.
const profileArg = process.argv.find((a) => a === '--profile' || a.startsWith('--profile='))
await (profileArg !== undefined ? profile(profileArg === '--profile' ? ['token', 'sso'] : profileArg.slice('--profile='.length).split(',')) : selectedOnly() === 'platform' ? platformOnly() : compare())
