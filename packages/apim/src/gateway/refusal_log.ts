/**
 * What the gateway tells its operator of a refusal: which API, which rule, the status sent, and for
 * a role failure which one. Every value is from a fixed list or the catalogue, so an entry never
 * carries a token, an API key, a header's value (a role id, a request id, a scheme) or anything
 * else the caller sent, and a metric labelled with it has a bounded number of series.
 */
import type { GatewayRefusal, RoleFailure } from '@careid/ports'

export interface GatewayRefusalEntry {
  /** The catalogue product of the API refused. */
  product: string
  kind: GatewayRefusal['kind']
  /** The role failure, for `kind: 'role'`. */
  failure?: RoleFailure
  status: number
}

/** Where the gateway reports refusals: a log line, a metric. */
export interface GatewayLog {
  refused(entry: GatewayRefusalEntry): void
}

export function refusalEntry(product: string, refusal: GatewayRefusal, status: number): GatewayRefusalEntry {
  return refusal.kind === 'role' ? { product, kind: refusal.kind, failure: refusal.failure, status } : { product, kind: refusal.kind, status }
}
