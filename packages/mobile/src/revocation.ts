/**
 * What revoking a device ends: the sign-ins it approved (every session bound to it, each with a
 * back-channel logout to its relying parties) and the sign-in requests still waiting for it (their
 * pages say the request was declined). The Registration Authority revokes from `careid devices
 * revoke`, the worker from their sign-in methods page; both end the same.
 */
import type { AuditLog } from '@careid/ports'
import type { Device } from './devices.ts'
import type { Requests } from './requests.ts'

/** The binding a device's sign-ins hang on. */
export function deviceBinding(deviceId: string): string {
  return `mobile:${deviceId}`
}

/**
 * Declines the sign-in requests that were waiting for a device just revoked (`Devices.revoke`
 * returns them), so their pages stop waiting. After the revocation has committed: it reaches the
 * short-lived store, which takes no part in a unit of work. Ending the device's sessions is the
 * caller's, after this.
 */
export async function declineWaiting(requests: Requests, pending: readonly string[], deviceId: string, now: number): Promise<void> {
  for (const requestId of pending) {
    const request = await requests.get(requestId, now)
    if (request !== undefined) await requests.decide(request, 'declined', deviceId, now)
  }
}

/** The audit entry of a device revoked by its own worker (the RA's is written by the admin service). */
export function selfRevokedEntry(device: Device, at: number): Parameters<AuditLog['append']>[0] {
  return { at, type: 'device.revoked', actor: device.uid, subject: device.uid, detail: { device: device.id } }
}
