/**
 * Settings for `careid start` and the admin commands: from flags, else environment variables,
 * else defaults; validated once with messages a person can act on.
 */
import { resolve } from 'node:path'
// zod's functional API: compiled into the bundle, only what is used here is loaded.
import * as z from 'zod/mini'

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
  const parsed = schema.safeParse({
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
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const key = String(issue.path[0]) as keyof SettingsInput
        return `  ${flag(key)} (${envNames[key]}): ${issue.message}`
      })
  // Redis holds only the short-lived half of the data; the durable half needs PostgreSQL.
  if (pick('redisUrl') !== undefined && pick('databaseUrl') === undefined) {
    problems.push(`  ${flag('redisUrl')} (${envNames.redisUrl}): needs ${flag('databaseUrl')} (${envNames.databaseUrl}) as well`)
  }
  if (pick('databaseSchema') !== undefined && pick('databaseUrl') === undefined) {
    problems.push(`  ${flag('databaseSchema')} (${envNames.databaseSchema}): needs ${flag('databaseUrl')} (${envNames.databaseUrl}) as well`)
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
  }
}
