/**
 * The PostgreSQL connection pool every store of the adapter shares, its transaction helper, and the
 * converters that turn rows back into contract records.
 */
import pg from 'pg'
import type { ClientConfig, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg'
import { rowReaders, type ColumnDecoder } from '../sql_rows.ts'

/** How to reach the database and how long to wait for it. */
export interface PostgresStoreOptions {
  /** A `postgres://` connection URL. It may hold a password, so it never appears in an error. */
  url: string
  /** Connections per node (default 10). */
  poolSize?: number
  /** Longest wait for a new connection, or for a free one when all are busy (default 5000). */
  connectionTimeoutMs?: number
  /** Longest a statement may run, lock waits included, before the server cancels it (default 5000). */
  statementTimeoutMs?: number
  /**
   * The schema holding Careid's tables (created by the first migration if missing); default: the
   * connection's own search_path. A plain identifier: letters, digits and underscores.
   */
  schema?: string
}

const DEFAULT_POOL_SIZE = 10
const DEFAULT_CONNECTION_TIMEOUT_MS = 5000
const DEFAULT_STATEMENT_TIMEOUT_MS = 5000
/** An idle pooled connection is closed after this long, so a quiet node holds few server slots. */
const IDLE_TIMEOUT_MS = 30_000
/**
 * The server ends a session that sits inside a transaction this long, releasing its row locks: a
 * node frozen mid-transaction (a stalled event loop, a paused VM) must not block every other node.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000
/**
 * The client gives up on an answer this long after the statement timeout: the server's own timeout
 * cannot fire when the server, or the network to it, has gone silent.
 */
const QUERY_TIMEOUT_MARGIN_MS = 1000

const schemaName = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** The options with their defaults, checked. */
export interface ResolvedOptions {
  url: string
  poolSize: number
  connectionTimeoutMs: number
  statementTimeoutMs: number
  schema: string | undefined
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`)
  return value
}

/** Applies defaults and rejects options that cannot work (before any connection is made). */
export function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  if (options.schema !== undefined && !schemaName.test(options.schema)) {
    throw new RangeError('schema must be a plain identifier (letters, digits, underscores)')
  }
  return {
    url: options.url,
    poolSize: positiveInteger('poolSize', options.poolSize, DEFAULT_POOL_SIZE),
    connectionTimeoutMs: positiveInteger('connectionTimeoutMs', options.connectionTimeoutMs, DEFAULT_CONNECTION_TIMEOUT_MS),
    statementTimeoutMs: positiveInteger('statementTimeoutMs', options.statementTimeoutMs, DEFAULT_STATEMENT_TIMEOUT_MS),
    schema: options.schema,
  }
}

/**
 * What every Careid connection is opened with. The settings travel in the startup packet, so they
 * cost no round trip and hold on every connection the pool ever opens.
 */
export function connectionConfig(options: ResolvedOptions, statementTimeoutMs = options.statementTimeoutMs): ClientConfig {
  return {
    connectionString: options.url,
    application_name: 'careid',
    connectionTimeoutMillis: options.connectionTimeoutMs,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS,
    idle_in_transaction_session_timeout: Math.max(IDLE_IN_TRANSACTION_TIMEOUT_MS, statementTimeoutMs),
    // TCP keepalives notice a peer that vanished without closing the connection.
    keepAlive: true,
    // The schema name was checked to be a plain identifier, so it needs no quoting here.
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  }
}

/** Runs one statement. */
export type Query = <R extends QueryResultRow>(text: string, values?: unknown[]) => Promise<QueryResult<R>>

/** The pool plus the two ways the adapter uses it. */
export interface Postgres {
  /** One statement on any pooled connection; on its own it is one transaction. */
  readonly query: Query
  /**
   * Runs `fn` between BEGIN and COMMIT on one connection and returns its result; if anything throws,
   * the transaction is rolled back and the error rethrown. The connection is always given back.
   */
  transaction<T>(fn: (query: Query) => Promise<T>): Promise<T>
  /**
   * Runs `work` as one transaction on one dedicated connection, given a `Postgres` whose every
   * statement runs on that connection inside it (its `transaction` joins the unit instead of
   * beginning another). COMMIT when `work` resolves, ROLLBACK when it throws; the connection is
   * always given back, or closed when it may be mid-protocol.
   */
  unit<T>(work: (postgres: Postgres) => Promise<T>): Promise<T>
  /** Closes every connection. */
  end(): Promise<void>
}

/**
 * Whether a connection can go back to the pool after `error`. An error the server reported (a
 * constraint, a statement timeout) leaves the connection in a known state; anything else (a dropped
 * socket, the client's own read timeout while the server may still answer later) may leave it
 * mid-protocol, so it is closed instead.
 */
function reusableAfter(error: unknown): boolean {
  return error instanceof pg.DatabaseError
}

/**
 * The name each statement text is prepared under, the same on every connection. Every text is one
 * of the adapter's own constants, so there are a few dozen at most.
 */
const statementNames = new Map<string, string>()

/**
 * A statement as a named prepared statement. Each connection then parses and plans a text once and
 * afterwards only binds and executes it: for Careid's short statements that is about half of the
 * database's CPU per call, and a Parse message less per call on the wire.
 */
function prepared(text: string, values: unknown[] | undefined): QueryConfig {
  let name = statementNames.get(text)
  if (name === undefined) {
    name = `careid_${statementNames.size + 1}`
    statementNames.set(text, name)
  }
  return { name, text, values }
}

function queryOn(client: PoolClient): Query {
  return (text, values) => client.query(prepared(text, values))
}

/** Opens a pool (connections are made on demand). */
export function openPool(options: ResolvedOptions): Postgres {
  const pool = new pg.Pool({ ...connectionConfig(options), max: options.poolSize, idleTimeoutMillis: IDLE_TIMEOUT_MS })
  // An idle connection that the server or the network drops emits 'error' on the pool; unhandled,
  // it would end the process. The pool has already discarded that connection and the next call
  // opens a fresh one, so there is nothing more to do here.
  pool.on('error', () => {})
  // The pool listens for that only while a connection is idle. One that is checked out (a
  // transaction between statements) and dropped by the server, as a restart does (57P01), emits
  // 'error' on the client itself, which would end the process just the same. Its next statement
  // fails instead, and the connection is discarded on release.
  pool.on('connect', (client) => client.on('error', () => {}))

  return {
    async query(text, values) {
      const client = await pool.connect()
      try {
        const result = await client.query(prepared(text, values))
        client.release()
        return result
      } catch (error) {
        client.release(!reusableAfter(error))
        throw error
      }
    },
    async transaction(fn) {
      const client = await pool.connect()
      let reusable = true
      try {
        await client.query('BEGIN')
        const result = await fn(queryOn(client))
        await client.query('COMMIT')
        return result
      } catch (error) {
        reusable = reusableAfter(error) && (await rolledBack(client))
        throw error
      } finally {
        client.release(!reusable)
      }
    },
    async unit(work) {
      const client = await pool.connect()
      // Set when a statement failed in a way that may leave the connection mid-protocol.
      let broken = false
      const query: Query = async (text, values) => {
        try {
          return await client.query(prepared(text, values))
        } catch (error) {
          if (!reusableAfter(error)) broken = true
          throw error
        }
      }
      const inUnit: Postgres = {
        query,
        transaction: (fn) => fn(query),
        unit: () => Promise.reject(new Error('a unit of work cannot hold another')),
        end: () => Promise.reject(new Error('the pool cannot be closed from inside a unit of work')),
      }
      let reusable = true
      try {
        await client.query('BEGIN')
        const result = await work(inUnit)
        // Each statement keeps its own statement timeout; a unit left idle longer than
        // idle_in_transaction_session_timeout is ended by the server, and this COMMIT then fails.
        const { command } = await client.query('COMMIT')
        // COMMIT of a transaction a failed statement aborted answers ROLLBACK rather than failing.
        if (command !== 'COMMIT') throw new Error('the unit of work was rolled back by the server')
        return result
      } catch (error) {
        reusable = !broken && (await rolledBack(client))
        throw error
      } finally {
        client.release(!reusable)
      }
    },
    end: () => pool.end(),
  }
}

/** Rolls back; false when even that fails, so the connection is closed rather than reused. */
async function rolledBack(client: PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK')
    return true
  } catch {
    return false
  }
}

/**
 * A BIGINT column (times, versions). pg returns int8 as a string, since it may exceed 2^53; Careid's
 * values are milliseconds and counters, far inside that, so the conversion is exact. Parsed here
 * per column rather than by a global type parser, which would change int8 for every other user of
 * pg in the process.
 */
export function int8(value: string): number {
  return Number(value)
}

/** How pg hands back the columns whose form differs from SQLite's. */
export interface PostgresColumns {
  /** BIGINT, as a string (see int8). */
  int: string
  /** JSONB, which pg has already parsed. */
  json: unknown
  bool: boolean
}

export const postgresColumns: ColumnDecoder<PostgresColumns> = {
  int: int8,
  optionalInt: (value) => (value === null ? null : int8(value)),
  json<T>(value: unknown): T {
    return value as T
  },
  bool: (value) => value,
}

/** The row-to-record converters for this adapter. */
export const postgresRows = rowReaders(postgresColumns)

/**
 * A value for a JSONB parameter. Serialised here because pg would send a JS array as a PostgreSQL
 * array literal, not as JSON.
 */
export function json(value: unknown): string {
  return JSON.stringify(value)
}
