/**
 * What every store shares, whichever backend: the guard that turns backend failures into
 * `StoreUnavailable`, and the composition of a durable store with Redis for short-lived data.
 * The ports themselves are in @careid/ports; each backend has its own subpath
 * (`@careid/store/sqlite`, `/postgres`, `/redis`, `/events`), so importing one loads no other, and
 * the conformance suite is `@careid/store/conformance`, so the server never loads node:test.
 */
export { combineStores } from './composite.ts'
export { guardStore } from './guard.ts'
