/**
 * The mobile app plugin: Careid's equivalent of CIS2's iPad app (`AAL3_IOS`, cis2.md 3.6 and 4).
 * It contributes the `mobile` authenticator, the app itself (an installable web app at
 * `{issuer}/mobile/`, its files in `public/`), the endpoints the app and the sign-in page call, and
 * the worker's devices as a kind of credential on their sign-in methods page. The Registration
 * Authority registers, confirms, lists and revokes devices through `@careid/admin`, which uses the
 * operations exported here.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Provider } from '@careid/oidc'
import type { AuditLog, AuthenticatorPlugin, CredentialKind, CredentialStore, Directory, InteractionStore, PersonStore, RateCounter, ReplayCache, UnitOfWork } from '@careid/ports'
import { mobileAuthenticator } from './authenticator.ts'
import { createDevices, DEVICE_KIND } from './devices.ts'
import { createRequests } from './requests.ts'
import { declineWaiting, deviceBinding, selfRevokedEntry } from './revocation.ts'
import { mobileRoutes } from './routes.ts'

export { mobileAuthenticator, MOBILE_METHOD_ID, requestsPerMinute } from './authenticator.ts'
export { createDevices, DEVICE_KIND, registrationTtlMs, confirmationTtlMs, confirmationAttempts, splitRegistrationToken, type Device, type DeviceKey, type Devices, type DeviceStatus } from './devices.ts'
export { createRequests, publicStatus, requestTtlMs, type Requests, type SignInRequest } from './requests.ts'
export { verifyDeviceCall, callSkewMs } from './device_calls.ts'
export { mobileRoutes, mobilePaths, longPollMs } from './routes.ts'
export { declineWaiting, deviceBinding } from './revocation.ts'

/** Where the app's files are: found by the package's name, as this module's place differs once compiled into dist/. */
export const mobileAppRoot = join(dirname(createRequire(import.meta.url).resolve('@careid/mobile/package.json')), 'public')

/** The store parts the plugin uses: devices are credentials, sign-in requests short-lived records. */
export interface MobileContext {
  people: Pick<PersonStore, 'get' | 'getByUsername'>
  credentials: CredentialStore
  interactions: InteractionStore
  replay: ReplayCache
  rates: Pick<RateCounter, 'hit'>
  audit: Pick<AuditLog, 'append'>
  /** A device removed by its worker is revoked with its audit entry in one unit of work. */
  transaction<T>(work: (tx: Pick<UnitOfWork, 'credentials' | 'audit'>) => Promise<T>): Promise<T>
}

export interface MobilePluginDeps {
  provider: Pick<Provider, 'config' | 'sessions'>
  store: MobileContext
  directory: Directory
  now: () => number
  /** How long the device's long poll waits (tests shorten it). */
  longPollMs?: number | undefined
}

export function mobilePlugin(deps: MobilePluginDeps): AuthenticatorPlugin {
  const { store, provider, now } = deps
  const { issuer } = provider.config
  const devices = createDevices(store.credentials)
  const requests = createRequests(store)

  const credentialKind: CredentialKind = {
    kind: DEVICE_KIND,
    label: 'NHS CIS2 app on your tablet or phone',
    async list(uid) {
      return (await devices.list(uid))
        .filter((d) => d.status === 'active')
        .map((d) => ({ id: d.id, kind: DEVICE_KIND, created_at: d.created_at, detail: { name: d.name ?? 'Tablet or phone', status: d.status, ...(d.activated_at === undefined ? {} : { activated_at: d.activated_at }) } }))
    },
    /** Removing a device is revoking it, with the same effects as the RA's revocation. */
    async remove(uid, id) {
      const device = await devices.get(id)
      if (device === undefined || device.uid !== uid) return false
      const at = now()
      const revoked = await store.transaction(async (tx) => {
        const done = await createDevices(tx.credentials).revoke(id, at)
        if (done !== undefined) await tx.audit.append(selfRevokedEntry(done.device, at))
        return done
      })
      if (revoked !== undefined) await declineWaiting(requests, revoked.pending, id, at)
      await provider.sessions.endByBinding(deviceBinding(id), 'device_revoked')
      return revoked !== undefined
    },
  }

  return {
    authenticators: [mobileAuthenticator({ issuer, devices, requests, people: store.people, rates: store.rates, directory: deps.directory })],
    routes: mobileRoutes({ issuer, devices, requests, people: store.people, replay: store.replay, now, longPollMs: deps.longPollMs }),
    credentialKinds: [credentialKind],
    assets: [{ prefix: '/mobile/', root: mobileAppRoot }],
  }
}
