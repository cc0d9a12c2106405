/**
 * `GET /oauth2/_status`: the platform's monitoring endpoint (identity-service's HealthCheck.SetResponse.js).
 * It answers only to the monitoring key in the `apikey` header (401 "Invalid api key for _status
 * monitoring endpoint" otherwise) and checks what the service depends on: CIS2 (its signing keys
 * answer) and, Careid's own, the store. Each check passes or fails; the whole is `pass` when all
 * pass, `fail` when all fail and `warn` between, in the platform's shape:
 * `{status, version, revision, releaseId, commitId, checks: {<name>: {status, timeout, responseCode, outcome, links}}}`.
 * Without a configured key (a local deployment) the endpoint is open.
 */
import { safeEqual } from '@careid/oidc'
import type { ServiceRoute } from '@careid/ports'
import type { PlatformDeps } from './platform_deps.ts'
import { PlatformRefusal } from '../platform_errors.ts'
import type { Release } from './ping_route.ts'

export interface StatusCheck {
  status: 'pass' | 'fail'
  timeout: 'true' | 'false'
  responseCode: number | null
  outcome: unknown
  links: { self: string }
}

const checkTimeoutMs = 5_000

export function statusRoute(deps: Pick<PlatformDeps, 'store' | 'cis2' | 'baseUrl'>, release: Release, monitoringKey: string | undefined): ServiceRoute {
  return {
    method: 'GET',
    path: '/oauth2/_status',
    async handle(request) {
      const apikey = request.header('apikey')
      if (monitoringKey !== undefined && (apikey === undefined || !safeEqual(apikey, monitoringKey))) {
        throw new PlatformRefusal('Access Denied', 'Invalid api key for _status monitoring endpoint', 401)
      }
      const [cis2, store] = await Promise.all([cis2Check(deps.cis2.settings.jwksUri), storeCheck(deps)])
      const checks = { 'nhs-cis2': cis2, store }
      const passed = Object.values(checks).filter((check) => check.status === 'pass').length
      const status = passed === 2 ? 'pass' : passed === 0 ? 'fail' : 'warn'
      return { status: 200, headers: { 'cache-control': 'no-store' }, json: { status, ...release, checks } }
    },
  }
}

async function cis2Check(url: string): Promise<StatusCheck> {
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(checkTimeoutMs) })
    const text = await response.text()
    let outcome: unknown = text
    try {
      outcome = JSON.parse(text)
    } catch {
      // Kept as text, as the platform keeps a body that is not JSON.
    }
    return { status: response.status >= 200 && response.status < 300 ? 'pass' : 'fail', timeout: 'false', responseCode: response.status, outcome, links: { self: url } }
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError'
    return { status: 'fail', timeout: timedOut ? 'true' : 'false', responseCode: null, outcome: timedOut ? 'timed out' : 'unreachable', links: { self: url } }
  }
}

async function storeCheck(deps: Pick<PlatformDeps, 'store' | 'baseUrl'>): Promise<StatusCheck> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), checkTimeoutMs)))
  const answer = await Promise.race([deps.store.ping().catch(() => false), timeout])
  clearTimeout(timer)
  const ok = answer === true
  return { status: ok ? 'pass' : 'fail', timeout: answer === 'timeout' ? 'true' : 'false', responseCode: null, outcome: ok ? 'reachable and migrated' : 'not answering', links: { self: `${deps.baseUrl}/oauth2/_status` } }
}
