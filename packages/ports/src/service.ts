/**
 * The seam for a service of its own origin beside the provider: the API Platform's OAuth service
 * (`/oauth2/...`) and the APIs behind its gateway (`/personal-demographics/FHIR/R4/...`). A service
 * describes its routes here, without a web framework; the composition root hands them to the HTTP
 * layer, which serves them on the service's own listener, so the HTTP layer imports no service.
 *
 * A route answers with a `ServiceResponse`, or throws an `OAuthError` (of the one error family),
 * which the one error renderer answers as JSON `{ error, error_description, ...fields }` with its
 * status. Anything else thrown is a server error with a fixed text; its detail goes to the log only.
 */

/** A request as a service route sees it. */
export interface ServiceRequest {
  method: string
  /** The path's parameters, by the names the route's path gives them (`/Patient/:id`). */
  params: Readonly<Record<string, string>>
  /** The query's parameters; a name given more than once has every value, in order. */
  query: Readonly<Record<string, string | readonly string[]>>
  /**
   * The body, parsed by its content type: a form (`application/x-www-form-urlencoded`) as a record
   * of its fields (an array where a field repeats), JSON (`application/json`, `application/*+json`)
   * as its value; undefined when there is none.
   */
  body: unknown
  /** The Content-Type's media type, lowercase, without parameters; undefined when none was sent. */
  contentType: string | undefined
  /** A header's value (names are case-insensitive); undefined when absent or sent more than once. */
  header(name: string): string | undefined
  /** The client's address, as the HTTP layer trusts it. */
  ip: string
  /** The request's path and query, as sent. */
  url: string
}

/** What a route answers. */
export interface ServiceResponse {
  status: number
  /** Header names lowercase. A redirect is a 302 with `location`. */
  headers?: Readonly<Record<string, string>> | undefined
  /** A body serialised as JSON, with the `content-type` header's type if one is set, else `application/json`. */
  json?: unknown
}

export interface ServiceRoute {
  method: 'GET' | 'POST' | 'PATCH'
  /** The path under the service's origin, with `:name` parameters, e.g. `/oauth2/token`. */
  path: string
  handle(request: ServiceRequest): Promise<ServiceResponse>
}
