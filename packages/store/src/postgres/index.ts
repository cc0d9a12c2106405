/**
 * The PostgreSQL store and event bus (`@careid/store/postgres`). Opening either loads pg on first
 * use (see scaled_out.ts); the migrations are plain data and load no driver.
 */
export type { PostgresStoreOptions } from './database.ts'
export type { PostgresEventBusOptions } from '../events/postgres.ts'
export { latestPostgresSchemaVersion, migratePostgres, postgresMigrations } from './migrations.ts'
export { openPostgresEventBus, openPostgresStore } from '../scaled_out.ts'
