/**
 * The authenticator plugin seam. A plugin contributes its authenticators (registered on the
 * provider, never built by it) and, when it needs them, its own endpoints under the issuer. Routes
 * are described here, without a web framework: the composition root hands them to the HTTP layer,
 * which mounts them, so neither the protocol core nor the HTTP layer imports any plugin.
 */
import type { Authenticator, AuthenticatorContext } from './authenticator.ts'
import type { CredentialKind, Enroller, EnrolmentContext } from './enrolment.ts'
import { OAuthError, type ErrorCode, type ErrorFields } from './errors.ts'

/** A request to a plugin route: its parsed body (JSON or form) and its headers (names lowercase). */
export interface PluginRequest {
  body: unknown
  header(name: string): string | undefined
  /** The client's address, as the HTTP layer sees it (for limits per source). */
  source: string
  /** Aborted when the client goes away: a route that waits (a long poll) stops waiting. */
  signal: AbortSignal
}

/**
 * One endpoint of a plugin, JSON in and JSON out. A 200 answers `handle`'s result; a thrown
 * `PluginRefusal` answers its status and `{ error, error_description, ...fields }`, and anything
 * else is a server error, both from the one error renderer.
 */
export interface PluginRoute {
  method: 'POST'
  /** The path under the issuer, e.g. `/agent/challenge`. */
  path: string
  /** The 200 body, serialised as JSON (members that are `undefined` are left out). */
  handle(request: PluginRequest): Promise<object>
}

/**
 * A refusal a plugin route answers with: the `error` code and HTTP status, rendered by the one error
 * renderer like every refusal of the family; the text says why, never a secret. A plugin's route
 * has no redirect URI, so its refusals are always answered in the response.
 */
export class PluginRefusal extends OAuthError {
  constructor(error: ErrorCode, status: number, description: string, fields?: ErrorFields) {
    super(error, description, status, { allowRedirect: false, ...(fields === undefined ? {} : { fields }) })
    this.name = 'PluginRefusal'
  }
}

/**
 * Static files a plugin serves (its browser scripts, an installable web app), mounted at `prefix`
 * (a URL path ending in `/`, e.g. `/mobile/`; `index.html` answers the bare prefix) from the
 * directory `root`, under the same strict CSP as every page.
 */
export interface PluginAssets {
  prefix: string
  root: string
}

/** What an authenticator plugin contributes. */
export interface AuthenticatorPlugin {
  /** In the order the method-choice page lists them. */
  authenticators: readonly Authenticator[]
  routes?: readonly PluginRoute[] | undefined
  /** Ceremonies that register its credentials from the account area (self-service, or with an RA code). */
  enrollers?: readonly Enroller[] | undefined
  /** Its credentials as a person sees and removes them on their sign-in methods page. */
  credentialKinds?: readonly CredentialKind[] | undefined
  assets?: readonly PluginAssets[] | undefined
}

/**
 * The authenticator with the store parts it needs bound to it: the journey then gives it the step
 * context alone. The composition root does this, so an authenticator sees only what it asked for.
 */
export function bindAuthenticator<Needs>(authenticator: Authenticator<Needs>, needs: Needs): Authenticator {
  const withNeeds = (ctx: AuthenticatorContext) => ({ ...needs, ...ctx })
  const handoff = authenticator.handoff?.bind(authenticator)
  return {
    method: authenticator.method,
    pages: authenticator.pages,
    start: (ctx) => authenticator.start(withNeeds(ctx)),
    submit: (ctx, state, input) => authenticator.submit(withNeeds(ctx), state, input),
    ...(handoff === undefined ? {} : { handoff: (ctx: AuthenticatorContext, interactionId: string) => handoff(withNeeds(ctx), interactionId) }),
  }
}

/** As `bindAuthenticator`, for an enrolment ceremony. */
export function bindEnroller<Needs>(enroller: Enroller<Needs>, needs: Needs): Enroller {
  const withNeeds = (ctx: EnrolmentContext) => ({ ...needs, ...ctx })
  return {
    method: enroller.method,
    label: enroller.label,
    description: enroller.description,
    maxAal: enroller.maxAal,
    pages: enroller.pages,
    start: (ctx) => enroller.start(withNeeds(ctx)),
    submit: (ctx, state, input) => enroller.submit(withNeeds(ctx), state, input),
  }
}
