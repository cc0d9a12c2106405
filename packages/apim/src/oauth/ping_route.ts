/** `GET /oauth2/_ping` (cis2.md 6.1, 6.7): 200 with `{version, revision, releaseId, commitId}`, and nothing else checked. */
import type { ServiceRoute } from '@careid/ports'

/** What is deployed, as the platform's health endpoints name it. */
export interface Release {
  version: string
  revision: string
  releaseId: string
  commitId: string
}

export function pingRoute(release: Release): ServiceRoute {
  return {
    method: 'GET',
    path: '/oauth2/_ping',
    async handle() {
      const { version, revision, releaseId, commitId } = release
      return { status: 200, headers: { 'cache-control': 'no-store' }, json: { version, revision, releaseId, commitId } }
    },
  }
}
