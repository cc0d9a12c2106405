/**
 * `careid devices register|confirm|list|revoke`: the Registration Authority's side of the mobile
 * app. `register` prints a one-time registration link (and the same as a QR code to scan with the
 * tablet or phone); the device then shows a code which the RA, with the worker present, gives to
 * `confirm`. `revoke` ends the device's sign-ins, with a back-channel logout to their applications.
 */
import QRCode from 'qrcode'
import type { CareidContext } from '../context.ts'
import { adminServices, cliActor, refusalsAsUsage } from './admin.ts'

export async function registerDevice(ctx: CareidContext, who: string, out: (s: string) => void): Promise<void> {
  const registration = await refusalsAsUsage(adminServices(ctx).devices.register(who, cliActor()))
  out(`Registration link for a tablet or phone of ${registration.person.display_name} (${registration.person.uid}), device ${registration.device.id}.`)
  out('Open it on the device (scan the QR code with its camera), with the worker present. It works once, for 15 minutes:')
  out('')
  out(`  ${registration.link}`)
  out('')
  out(await QRCode.toString(registration.link, { type: 'terminal', small: true, errorCorrectionLevel: 'M' }))
  out(`The device then shows a 6-digit code: check it on the device, then run careid devices confirm ${registration.person.username} <code>.`)
}

export async function confirmDevice(ctx: CareidContext, who: string, code: string, out: (s: string) => void): Promise<void> {
  const { person, device } = await refusalsAsUsage(adminServices(ctx).devices.confirm(who, code, cliActor()))
  out(`Device ${device.id} (${device.name ?? 'tablet or phone'}) of ${person.display_name} (${person.uid}) is active: it can approve sign-ins now.`)
}

export async function listDevices(ctx: CareidContext, who: string | undefined, out: (s: string) => void): Promise<void> {
  const listed = await refusalsAsUsage(adminServices(ctx).devices.list(who))
  if (listed.every((entry) => entry.devices.length === 0)) return out(who === undefined ? 'No devices registered.' : `${who} has no devices.`)
  for (const { person, devices } of listed) {
    for (const d of devices) {
      const since = new Date(d.revoked_at ?? d.activated_at ?? d.created_at).toISOString()
      out(`${d.id}  ${person.uid}  ${person.username.padEnd(22)} ${d.status.padEnd(10)} since ${since}  ${d.name ?? '-'}  registered by ${d.registered_by}${d.confirmed_by === undefined ? '' : `, confirmed by ${d.confirmed_by}`}`)
    }
  }
}

export async function revokeDevice(ctx: CareidContext, id: string, out: (s: string) => void): Promise<void> {
  const { device, sessionsEnded } = await refusalsAsUsage(adminServices(ctx).devices.revoke(id, cliActor()))
  out(`Device ${device.id} of ${device.uid} is revoked; ${sessionsEnded} sign-in(s) it approved ended, and their applications are being told.`)
}
