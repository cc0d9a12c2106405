/** The embedded SQLite store (`@careid/store/sqlite`): one file in the data directory. */
export { openSqliteStore, type SqliteStoreOptions } from './sqlite_store.ts'
export { latestSchemaVersion, sqliteMigrations, type Migration } from './migrations.ts'
