/**
 * The SQLite connection every store of the adapter shares, and the converters that turn its rows
 * back into contract records.
 */
import Database from 'libsql'
import { rowReaders, type ColumnDecoder } from '../sql_rows.ts'

/** One open libsql connection plus its write-transaction helper. */
export interface Sqlite {
  readonly db: Database.Database
  /**
   * Runs `fn` as one write transaction and returns its result; if it throws, everything it wrote is
   * rolled back. `fn` must be synchronous, so no other call can interleave with it.
   */
  write<T>(fn: () => T): T
  /**
   * Runs `work` as one write transaction that may await: BEGIN IMMEDIATE, then COMMIT when it
   * resolves or ROLLBACK when it throws. `write` calls made meanwhile join it. The caller keeps
   * every other caller off the connection until this settles (the statements of anything that ran
   * in between would land inside this transaction).
   */
  unit<T>(work: () => Promise<T>): Promise<T>
}

/** Waits this long for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000

/**
 * Opens (creating if needed) the database at `path`, or a private in-memory one for ':memory:',
 * and sets it up for crash safety and speed.
 */
export function openDatabase(path: string): Sqlite {
  const db = new Database(path)
  try {
    // WAL: readers never block the writer, and a commit is one append, so a process killed at any
    // point leaves either the whole transaction or none of it. synchronous=NORMAL keeps that
    // guarantee against process crashes and skips the fsync per commit (FULL would cost one on every
    // code redemption and token rotation); only a power loss can drop the last few commits, and
    // never corrupts the file.
    // First, so that the pragmas below wait for another process (a `careid` admin command next to
    // a running server) instead of failing at once with SQLITE_BUSY.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
  } catch (error) {
    db.close()
    throw error
  }

  const begin = db.prepare('BEGIN IMMEDIATE')
  const commit = db.prepare('COMMIT')
  const rollback = db.prepare('ROLLBACK')

  return {
    db,
    write(fn) {
      // Inside a unit of work: one part of it, committed or rolled back with the rest.
      if (db.inTransaction) return fn()
      // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
      // can fail on the lock upgrade with SQLITE_BUSY, which busy_timeout cannot wait out.
      begin.run()
      try {
        const result = fn()
        commit.run()
        return result
      } catch (error) {
        // SQLite may already have rolled back by itself (e.g. on SQLITE_FULL).
        if (db.inTransaction) rollback.run()
        throw error
      }
    },
    async unit(work) {
      begin.run()
      try {
        const result = await work()
        commit.run()
        return result
      } catch (error) {
        if (db.inTransaction) rollback.run()
        throw error
      }
    },
  }
}

/** How libsql hands back the columns whose form differs from PostgreSQL's. */
export interface SqliteColumns {
  int: number
  /** SQLite has no JSON type: this adapter writes JSON.stringify'd TEXT. */
  json: string
  /** SQLite has no boolean type, and libsql cannot bind one: this adapter writes 0 or 1. */
  bool: number
}

export const sqliteColumns: ColumnDecoder<SqliteColumns> = {
  int: (value) => value,
  optionalInt: (value) => value,
  json: (text) => JSON.parse(text),
  bool: (value) => value === 1,
}

/** The row-to-record converters for this adapter. */
export const sqliteRows = rowReaders(sqliteColumns)
