/**
 * `GET /oauth2/userinfo` (cis2.md 6.2 step 6): CIS2's userinfo for the worker a platform access token
 * was granted for, fetched with the CIS2 access token the platform kept (sealed) from the sign-in,
 * and answered as CIS2 answered. "Combined pattern and CIS2 only": a token of another pattern holds
 * no CIS2 access token and gets the platform's 400.
 */
import type { ServiceRoute } from '@careid/ports'
import { fromCis2 } from './cis2_provider.ts'
import type { PlatformDeps } from './platform_deps.ts'
import { platformTokenOf } from './platform_bearer.ts'
import { PlatformRefusal } from '../platform_errors.ts'

export const userinfoWrongAuthText =
  'The Userinfo endpoint is only supported for Combined Auth integrations. Currently this is only for NHS CIS2 authentications - for more guidance see https://digital.nhs.uk/developer/guides-and-documentation/security-and-authorisation/user-restricted-restful-apis-nhs-cis2-combined-authentication-and-authorisation'

export function userinfoRoute(deps: PlatformDeps): ServiceRoute {
  return {
    method: 'GET',
    path: '/oauth2/userinfo',
    async handle(request) {
      const { grant } = await platformTokenOf(deps, request)
      if (grant.pattern !== 'combined' || grant.cis2_access_token_sealed === undefined) throw new PlatformRefusal('invalid_request', userinfoWrongAuthText, 400)
      const sealed = grant.cis2_access_token_sealed
      const answer = await fromCis2(() => deps.cis2.userinfo(deps.secrets.open(sealed)))
      return { status: answer.status, headers: { 'cache-control': 'no-store' }, json: answer.body }
    },
  }
}
