/**
 * Settings for `careid start` and the admin commands: from flags, else environment variables,
 * else defaults; validated once with messages a person can act on.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
// zod's functional API: compiled into the bundle, only what is used here is loaded.
import * as z from 'zod/mini'
import { agentHandoffModes, type AgentHandoff } from '@careid/oidc'

export const cis2RealmPath = '/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare'

export interface Settings {
  port: number
  host: string
  dataDir: string
  issuer: string
  /** The base URL the server itself is reached at (for the demo relying party). */
  baseUrl: string
  logLevel: string | false
  keyEncryptionKey?: string | undefined
  /**
   * A `postgres://` URL: the shared store of a scaled-out deployment. Absent: the embedded SQLite
   * store in the data directory. It may hold a password, so it is never printed.
   */
  databaseUrl?: string | undefined
  /** The PostgreSQL schema holding Careid's tables; it also names this deployment's Redis keys and event channel. */
  databaseSchema?: string | undefined
  /** A `redis://` URL for the short-lived data (needs `databaseUrl`). Never printed. */
  redisUrl?: string | undefined
  /** PostgreSQL connections per node. */
  dbPoolSize: number
  /** Seed the demo workforce and serve the demo relying party (off in production). */
  demo: boolean
  /** Password and authenticator-app code posts allowed per username and client IP per minute. */
  signInRateLimit: number
  /** Token requests allowed per client and client IP per minute. */
  tokenRateLimit: number
  /** The Identity Agent's local API origin on workers' computers (the smartcard page's connect-src). */
  agentOrigin: string
  /** When a sign-in goes straight to the Identity Agent by redirect, with no page: `hinted`, `always` or `never`. */
  agentHandoff: AgentHandoff
  /** A listener of its own for /metrics (then the main port does not serve them). */
  metricsPort?: number | undefined
  /** Where that listener binds. */
  metricsHost: string
  /** The bearer token /metrics requires. Never printed. */
  metricsToken?: string | undefined
  /**
   * The API Platform's OAuth service (`/oauth2/...`) listens here: an origin of its own, so its
   * responses and the provider's never share cookies.
   */
  apiPort: number
  /** Where the API Platform's service is reached (its CIS2 redirect and logout URIs are under it). */
  apiBaseUrl: string
  /** Which part this node serves: both (absent), only the provider, or only the API Platform. */
  only?: 'provider' | 'api' | undefined
  /** The key `/oauth2/_status` of the API Platform asks for in its `apikey` header. Never printed. */
  apiStatusKey?: string | undefined
  /**
   * The API Platform environment this deployment plays (`int`, `internal-dev`, `sandbox`, `live`,
   * ...): outside `live` the token endpoint honours the platform's reduce-only test parameters.
   */
  apiEnvironment: string
  /** Each application's calls to each API per second, before 429 (the platform's default is 5). */
  apiRateLimit: number
  /**
   * Trust the attestation of Chromium's virtual authenticators for AAL3 security keys, Windows
   * Hello and passkeys. Their key is public: on by default with the demo only, never in production.
   */
  trustTestAuthenticators: boolean
  /** A FIDO Metadata Service (MDS3) blob file, verified and loaded at start: the hardware authenticators trusted for AAL3. */
  fidoMetadata?: string | undefined
}

export interface SettingsInput {
  port?: string | undefined
  host?: string | undefined
  dataDir?: string | undefined
  issuer?: string | undefined
  logLevel?: string | undefined
  databaseUrl?: string | undefined
  databaseSchema?: string | undefined
  redisUrl?: string | undefined
  dbPoolSize?: string | undefined
  /** false from --no-demo; the environment gives a string. */
  demo?: boolean | string | undefined
  signInRateLimit?: string | undefined
  tokenRateLimit?: string | undefined
  agentOrigin?: string | undefined
  agentHandoff?: string | undefined
  metricsPort?: string | undefined
  metricsHost?: string | undefined
  /** A file holding the metrics bearer token. */
  metricsTokenFile?: string | undefined
  /** The metrics bearer token itself: from the environment only, as a flag would show it in the process list. */
  metricsToken?: string | undefined
  apiPort?: string | undefined
  apiBaseUrl?: string | undefined
  only?: string | undefined
  /** From the environment only, as a flag would show it in the process list. */
  apiStatusKey?: string | undefined
  apiEnvironment?: string | undefined
  apiRateLimit?: string | undefined
  /** false from --no-trust-test-authenticators; the environment gives a string. */
  trustTestAuthenticators?: boolean | string | undefined
  fidoMetadata?: string | undefined
}

/** A whole number from a flag or variable (a string), between `min` and `max`. */
function wholeNumber(min: number, max: number) {
  const range = `must be between ${min} and ${max}`
  return z.coerce
    .number({ error: 'must be a number' })
    .check(z.refine(Number.isInteger, 'must be a whole number'), z.gte(min, range), z.lte(max, range))
}

/** A string that is either absent or passes `test`. */
function optionalString(test: (value: string) => boolean, message: string) {
  return z.optional(z.string().check(z.refine(test, message)))
}

const schema = z.object({
  port: wholeNumber(1, 65535),
  host: z.string().check(z.minLength(1, 'must not be empty')),
  dataDir: z.string().check(z.minLength(1, 'must not be empty')),
  issuer: optionalString(isIssuer, 'must be an absolute http(s) URL without query, fragment or trailing slash'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace or silent' }),
  // The messages never quote a URL: it may carry a password.
  databaseUrl: optionalString((v) => hasProtocol(v, ['postgres:', 'postgresql:']), 'must be a postgres:// or postgresql:// URL'),
  databaseSchema: z.optional(
    z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain identifier: a letter or underscore, then letters, digits or underscores (at most 63)')),
  ),
  redisUrl: optionalString((v) => hasProtocol(v, ['redis:', 'rediss:']), 'must be a redis:// or rediss:// URL'),
  dbPoolSize: wholeNumber(1, 1000),
  // A rate limit: how many a minute.
  signInRateLimit: wholeNumber(1, 1_000_000),
  tokenRateLimit: wholeNumber(1, 1_000_000),
  demo: z.pipe(
    z.transform((v: unknown) => (v === 'true' ? true : v === 'false' ? false : v)),
    z.boolean({ error: 'must be true or false' }),
  ),
  agentOrigin: z.string().check(z.refine(isOrigin, 'must be an origin such as http://127.0.0.1:4445 (scheme, host and port only)')),
  agentHandoff: z.enum(agentHandoffModes, { error: `must be one of ${agentHandoffModes.join(', ')}` }),
  metricsPort: z.optional(wholeNumber(1, 65535)),
  metricsHost: z.string().check(z.minLength(1, 'must not be empty')),
  // RFC 6750 2.1's b64token, and long enough that it cannot be guessed. The message never quotes it.
  metricsToken: optionalString((v) => /^[A-Za-z0-9\-._~+/]{32,}=*$/.test(v), 'must be at least 32 characters of letters, digits and - . _ ~ + / (for example from: openssl rand -hex 32)'),
  apiPort: z.optional(wholeNumber(1, 65535)),
  apiBaseUrl: optionalString(isIssuer, 'must be an absolute http(s) URL without query, fragment or trailing slash'),
  only: z.optional(z.enum(['provider', 'api'], { error: 'must be provider or api' })),
  apiStatusKey: optionalString((v) => v.length >= 16, 'must be at least 16 characters'),
  apiEnvironment: z.string().check(z.regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be an environment name such as int, internal-dev, sandbox or live (lowercase letters, digits and -)')),
  apiRateLimit: wholeNumber(1, 1_000_000),
  trustTestAuthenticators: z.pipe(
    z.transform((v: unknown) => (v === 'true' ? true : v === 'false' ? false : v)),
    z.boolean({ error: 'must be true or false' }),
  ),
  fidoMetadata: z.optional(z.string().check(z.minLength(1, 'must not be empty'))),
})

const envNames: Record<keyof SettingsInput, string> = {
  port: 'CAREID_PORT',
  host: 'CAREID_HOST',
  dataDir: 'CAREID_DATA_DIR',
  issuer: 'CAREID_ISSUER',
  logLevel: 'CAREID_LOG_LEVEL',
  databaseSchema: 'CAREID_DATABASE_SCHEMA',
  dbPoolSize: 'CAREID_DB_POOL_SIZE',
  demo: 'CAREID_DEMO',
  signInRateLimit: 'CAREID_SIGN_IN_RATE_LIMIT',
  tokenRateLimit: 'CAREID_TOKEN_RATE_LIMIT',
  agentOrigin: 'CAREID_AGENT_ORIGIN',
  agentHandoff: 'CAREID_AGENT_HANDOFF',
  metricsPort: 'CAREID_METRICS_PORT',
  metricsHost: 'CAREID_METRICS_HOST',
  metricsTokenFile: 'CAREID_METRICS_TOKEN_FILE',
  metricsToken: 'CAREID_METRICS_TOKEN',
  apiPort: 'CAREID_API_PORT',
  apiBaseUrl: 'CAREID_API_BASE_URL',
  only: 'CAREID_ONLY',
  apiStatusKey: 'CAREID_API_STATUS_KEY',
  apiEnvironment: 'CAREID_API_ENVIRONMENT',
  apiRateLimit: 'CAREID_API_RATE_LIMIT',
  trustTestAuthenticators: 'CAREID_TRUST_TEST_AUTHENTICATORS',
  fidoMetadata: 'CAREID_FIDO_METADATA',
  // The names hosting platforms and tools already use for these.
  databaseUrl: 'DATABASE_URL',
  redisUrl: 'REDIS_URL',
}

/** The flag as typed, where it is not the key in kebab case. */
const flagNames: Partial<Record<keyof SettingsInput, string>> = { demo: '--no-demo' }

/** Settings given only in the environment. */
const environmentOnly: ReadonlySet<keyof SettingsInput> = new Set(['metricsToken', 'apiStatusKey'])

function hasProtocol(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol)
  } catch {
    return false
  }
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value
  } catch {
    return false
  }
}

function isIssuer(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '' && !value.endsWith('/')
  } catch {
    return false
  }
}

export class SettingsError extends Error {
  override name = 'SettingsError'
}

export function resolveSettings(flags: SettingsInput, env: NodeJS.ProcessEnv = process.env): Settings {
  const pick = (key: keyof SettingsInput) => flags[key] ?? env[envNames[key]]
  const flag = (key: keyof SettingsInput) => flagNames[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
  const name = (key: keyof SettingsInput) => (environmentOnly.has(key) ? envNames[key] : `${flag(key)} (${envNames[key]})`)
  const problems: string[] = []
  const tokenFile = pick('metricsTokenFile') as string | undefined
  let metricsToken = pick('metricsToken') as string | undefined
  if (tokenFile !== undefined && metricsToken !== undefined) {
    problems.push(`  ${name('metricsTokenFile')}: give the metrics token once, in a file or in ${envNames.metricsToken}, not both`)
  } else if (tokenFile !== undefined) {
    try {
      // The file's last line break is not part of the token.
      metricsToken = readFileSync(tokenFile, 'utf8').trim()
    } catch (error) {
      problems.push(`  ${name('metricsTokenFile')}: cannot read the file ${tokenFile} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`)
    }
  }
  const port = pick('port') ?? env.PORT ?? '8080'
  // The API Platform's own origin: the next port unless told otherwise (a bad --port is reported once, as itself).
  const portNumber = Number(port)
  const apiPort = pick('apiPort') ?? (Number.isInteger(portNumber) && portNumber >= 1 && portNumber < 65535 ? String(portNumber + 1) : undefined)
  const parsed = schema.safeParse({
    port,
    host: pick('host') ?? 'localhost',
    dataDir: pick('dataDir') ?? '.careid',
    issuer: pick('issuer'),
    logLevel: pick('logLevel') ?? 'info',
    databaseUrl: pick('databaseUrl'),
    databaseSchema: pick('databaseSchema'),
    redisUrl: pick('redisUrl'),
    dbPoolSize: pick('dbPoolSize') ?? '10',
    demo: pick('demo') ?? true,
    // Enough for a person who mistypes a few times; the lockout of the credential itself stops
    // guessing spread over many addresses.
    signInRateLimit: pick('signInRateLimit') ?? '10',
    // A busy relying party redeems one code per sign-in, usually from a few addresses.
    tokenRateLimit: pick('tokenRateLimit') ?? '6000',
    agentOrigin: pick('agentOrigin') ?? 'http://127.0.0.1:4445',
    agentHandoff: pick('agentHandoff') ?? 'hinted',
    metricsPort: pick('metricsPort'),
    // Loopback unless told otherwise: the listener serves operators' scrapers, not the public.
    metricsHost: pick('metricsHost') ?? '127.0.0.1',
    metricsToken,
    apiPort,
    apiBaseUrl: pick('apiBaseUrl'),
    only: pick('only'),
    apiStatusKey: pick('apiStatusKey'),
    // Careid stands in for the platform's test environments first; a deployment for real says live.
    apiEnvironment: pick('apiEnvironment') ?? 'int',
    apiRateLimit: pick('apiRateLimit') ?? '5',
    // Test authenticators' attestation keys are public: trusted with the demo, not without it.
    trustTestAuthenticators: pick('trustTestAuthenticators') ?? pick('demo') ?? true,
    fidoMetadata: pick('fidoMetadata'),
  })
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]) as keyof SettingsInput
      // A token read from a file is reported against the file.
      const where = key === 'metricsToken' && tokenFile !== undefined ? `${name('metricsTokenFile')}: the token in it` : `${name(key)}:`
      problems.push(`  ${where} ${issue.message}`)
    }
  }
  // Redis holds only the short-lived half of the data; the durable half needs PostgreSQL.
  if (pick('redisUrl') !== undefined && pick('databaseUrl') === undefined) {
    problems.push(`  ${flag('redisUrl')} (${envNames.redisUrl}): needs ${flag('databaseUrl')} (${envNames.databaseUrl}) as well`)
  }
  if (pick('databaseSchema') !== undefined && pick('databaseUrl') === undefined) {
    problems.push(`  ${flag('databaseSchema')} (${envNames.databaseSchema}): needs ${flag('databaseUrl')} (${envNames.databaseUrl}) as well`)
  }
  if (pick('metricsHost') !== undefined && pick('metricsPort') === undefined) {
    problems.push(`  ${name('metricsHost')}: needs ${name('metricsPort')} as well`)
  }
  if (pick('metricsPort') !== undefined && Number(pick('metricsPort')) === Number(port)) {
    problems.push(`  ${name('metricsPort')}: must differ from ${name('port')}, where Careid serves everything else`)
  }
  if (apiPort === undefined && portNumber === 65535) problems.push(`  ${name('apiPort')}: give it: the next port after ${name('port')} 65535 does not exist`)
  if (apiPort !== undefined && Number(apiPort) === portNumber) {
    problems.push(`  ${name('apiPort')}: must differ from ${name('port')}: the API Platform has an origin of its own`)
  }
  if (pick('metricsPort') !== undefined && apiPort !== undefined && Number(pick('metricsPort')) === Number(apiPort)) {
    problems.push(`  ${name('metricsPort')}: must differ from ${name('apiPort')}, where the API Platform is served`)
  }
  if (!parsed.success || problems.length > 0) throw new SettingsError(`Invalid settings:\n${problems.join('\n')}`)
  const s = parsed.data
  const baseUrl = `http://${s.host}:${s.port}`
  return {
    port: s.port,
    host: s.host,
    dataDir: resolve(s.dataDir),
    // Verbatim: CIS2 issuers carry an explicit :443 that must survive (cis2.md 1.1).
    issuer: s.issuer ?? `${baseUrl}${cis2RealmPath}`,
    baseUrl,
    logLevel: s.logLevel === 'silent' ? false : s.logLevel,
    keyEncryptionKey: env.CAREID_KEY_ENCRYPTION_KEY,
    databaseUrl: s.databaseUrl,
    databaseSchema: s.databaseSchema,
    redisUrl: s.redisUrl,
    dbPoolSize: s.dbPoolSize,
    demo: s.demo,
    signInRateLimit: s.signInRateLimit,
    tokenRateLimit: s.tokenRateLimit,
    agentOrigin: s.agentOrigin,
    agentHandoff: s.agentHandoff,
    metricsPort: s.metricsPort,
    metricsHost: s.metricsHost,
    metricsToken: s.metricsToken,
    apiPort: s.apiPort ?? s.port + 1,
    apiBaseUrl: s.apiBaseUrl ?? `http://${s.host}:${s.apiPort ?? s.port + 1}`,
    only: s.only,
    apiStatusKey: s.apiStatusKey,
    apiEnvironment: s.apiEnvironment,
    apiRateLimit: s.apiRateLimit,
    trustTestAuthenticators: s.trustTestAuthenticators,
    fidoMetadata: s.fidoMetadata === undefined ? undefined : resolve(s.fidoMetadata),
  }
}
