/** The in-process event bus (`@careid/store/events`); the PostgreSQL and Redis buses are under their own subpaths. */
export { createLocalEventBus } from './local.ts'
