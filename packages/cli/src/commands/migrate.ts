/** `careid migrate`: brings the PostgreSQL schema to the latest version before nodes start. */
import { migratePostgres } from '@careid/store/postgres'
import { StartupError } from '../context.ts'
import type { Settings } from '../settings.ts'

/**
 * Applies every pending migration and prints the version reached. Safe while nodes run or start:
 * migrations are serialised by an advisory lock and each is applied once. `careid start` does the
 * same on its own; running this first lets a deployment migrate once, before rolling out nodes.
 */
export async function migrate(settings: Settings, out: (s: string) => void): Promise<void> {
  if (settings.databaseUrl === undefined) {
    out('No --database-url (DATABASE_URL): Careid is on its embedded store, which migrates itself whenever it opens. Nothing to do.')
    return
  }
  let version: number
  try {
    version = await migratePostgres(settings.databaseUrl, { schema: settings.databaseSchema })
  } catch (error) {
    // pg's messages name the host and user at most, never the password in the URL.
    throw new StartupError(`cannot migrate the database: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  // migratePostgres refuses a database newer than this Careid, so the version reached is the latest.
  out(`The database schema is at version ${version}, the latest.`)
}
