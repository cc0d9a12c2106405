/**
 * The platform's access token on a request to the OAuth service itself (`/userinfo`): a bearer
 * token (RFC 6750 2.1) that is live in the store. The platform answers a missing, unknown, expired
 * or revoked token with 401 and its catch-all body (its token check has no answer of its own there).
 */
import { sha256 } from '@careid/oidc'
import type { ApiTokenGrant, ServiceRequest } from '@careid/ports'
import type { PlatformDeps } from './platform_deps.ts'
import { unknownError } from '../platform_errors.ts'

export async function platformTokenOf(deps: Pick<PlatformDeps, 'store' | 'now'>, request: ServiceRequest): Promise<ApiTokenGrant> {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(request.header('authorization') ?? '')
  if (match === null) throw unknownError(401, 'no bearer token')
  const found = await deps.store.apiGrants.findAccess(sha256(match[1] as string), deps.now())
  if (found === undefined) throw unknownError(401, 'access token unknown, expired or revoked')
  return found
}
