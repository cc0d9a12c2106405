/**
 * Settings for `careid start` and the admin commands: from flags, else environment variables,
 * else defaults; validated once with messages a person can act on.
 */
import { resolve } from 'node:path'

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
}

/**
 * What checking one value found: the value to use, or what is wrong with it (every rule it breaks,
 * in the order the rules are listed). Hand-written rather than a schema library: the settings are
 * read once, and such a library would stay in every node's memory for the rest of its life.
 */
type Checked<T> = { ok: true; value: T } | { ok: false; problems: string[] }

type Check<T> = (input: unknown) => Checked<T>

function typeName(input: unknown): string {
  if (input === null) return 'null'
  if (Array.isArray(input)) return 'array'
  if (typeof input === 'number' && Number.isNaN(input)) return 'NaN'
  return typeof input
}

function checked<T>(value: T, problems: string[]): Checked<T> {
  return problems.length === 0 ? { ok: true, value } : { ok: false, problems }
}

/** A whole number from `min` to `max`, given as a number or as text ('12'); '' counts as 0. */
function wholeNumber(min: number, max: number): Check<number> {
  const range = `must be between ${min} and ${max}`
  return (input) => {
    let value: unknown = input
    try {
      value = Number(input)
    } catch {
      // A value Number() cannot convert (a Symbol) is reported as not a number below.
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) return { ok: false, problems: ['must be a number'] }
    // A fraction is told only that; a whole number too large to hold exactly is told its range too.
    if (!Number.isInteger(value)) return { ok: false, problems: ['must be a whole number'] }
    const problems: string[] = []
    if (!Number.isSafeInteger(value)) problems.push('must be a whole number')
    if (value < min) problems.push(range)
    if (value > max) problems.push(range)
    return checked(value, problems)
  }
}

/** Text, checked by `rules` (each a test and what to say when it fails). */
function text(rules: [(value: string) => boolean, string][]): Check<string> {
  return (input) => {
    if (typeof input !== 'string') return { ok: false, problems: [`Invalid input: expected string, received ${typeName(input)}`] }
    return checked(input, rules.filter(([test]) => !test(input)).map(([, message]) => message))
  }
}

/** `check`, or absent. */
function optional<T>(check: Check<T>): Check<T | undefined> {
  return (input) => (input === undefined ? { ok: true, value: undefined } : check(input))
}

const nonEmpty: [(value: string) => boolean, string] = [(v) => v.length >= 1, 'must not be empty']
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A rate limit: how many a minute. */
const perMinute = wholeNumber(1, 1_000_000)

const checks = {
  port: wholeNumber(1, 65535),
  host: text([nonEmpty]),
  dataDir: text([nonEmpty]),
  issuer: optional(text([[isIssuer, 'must be an absolute http(s) URL without query, fragment or trailing slash']])),
  logLevel: ((input) =>
    logLevels.includes(input as (typeof logLevels)[number])
      ? { ok: true, value: input as (typeof logLevels)[number] }
      : { ok: false, problems: [`Invalid option: expected one of ${logLevels.map((l) => `"${l}"`).join('|')}`] }) as Check<(typeof logLevels)[number]>,
  // The messages never quote a URL: it may carry a password.
  databaseUrl: optional(text([[(v) => hasProtocol(v, ['postgres:', 'postgresql:']), 'must be a postgres:// or postgresql:// URL']])),
  databaseSchema: optional(
    text([[(v) => /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(v), 'must be a plain identifier: a letter or underscore, then letters, digits or underscores (at most 63)']]),
  ),
  redisUrl: optional(text([[(v) => hasProtocol(v, ['redis:', 'rediss:']), 'must be a redis:// or rediss:// URL']])),
  dbPoolSize: wholeNumber(1, 1000),
  signInRateLimit: perMinute,
  tokenRateLimit: perMinute,
  demo: ((input) => {
    const value = input === 'true' ? true : input === 'false' ? false : input
    return typeof value === 'boolean' ? { ok: true, value } : { ok: false, problems: ['must be true or false'] }
  }) as Check<boolean>,
  agentOrigin: text([[isOrigin, 'must be an origin such as http://127.0.0.1:4445 (scheme, host and port only)']]),
}

type CheckedSettings = { [K in keyof typeof checks]: (typeof checks)[K] extends Check<infer T> ? T : never }

/** Every setting checked, in the order above: the values, and each problem with the setting it is about. */
function checkAll(input: Record<keyof typeof checks, unknown>): { values: CheckedSettings; problems: [keyof SettingsInput, string][] } {
  const values: Record<string, unknown> = {}
  const problems: [keyof SettingsInput, string][] = []
  for (const key of Object.keys(checks) as (keyof typeof checks)[]) {
    const result = (checks[key] as Check<unknown>)(input[key])
    if (result.ok) values[key] = result.value
    else for (const problem of result.problems) problems.push([key, problem])
  }
  return { values: values as CheckedSettings, problems }
}

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
  // The names hosting platforms and tools already use for these.
  databaseUrl: 'DATABASE_URL',
  redisUrl: 'REDIS_URL',
}

/** The flag as typed, where it is not the key in kebab case. */
const flagNames: Partial<Record<keyof SettingsInput, string>> = { demo: '--no-demo' }

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
  const parsed = checkAll({
    port: pick('port') ?? env.PORT ?? '8080',
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
  })
  const flag = (key: keyof SettingsInput) => flagNames[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
  const problems = parsed.problems.map(([key, message]) => `  ${flag(key)} (${envNames[key]}): ${message}`)
  // Redis holds only the short-lived half of the data; the durable half needs PostgreSQL.
  if (pick('redisUrl') !== undefined && pick('databaseUrl') === undefined) {
    problems.push(`  ${flag('redisUrl')} (${envNames.redisUrl}): needs ${flag('databaseUrl')} (${envNames.databaseUrl}) as well`)
  }
  if (pick('databaseSchema') !== undefined && pick('databaseUrl') === undefined) {
    problems.push(`  ${flag('databaseSchema')} (${envNames.databaseSchema}): needs ${flag('databaseUrl')} (${envNames.databaseUrl}) as well`)
  }
  if (problems.length > 0) throw new SettingsError(`Invalid settings:\n${problems.join('\n')}`)
  const s = parsed.values
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
  }
}
