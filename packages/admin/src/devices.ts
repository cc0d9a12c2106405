/**
 * The tablets and phones a Registration Authority registers for the mobile app (CIS2's iPad app,
 * cis2.md 4: "registered by a Registration Authority ... with the user present"): a one-time
 * registration link for the device, the confirmation of the code the device then shows (with the
 * worker present), listing, and revocation. Each change and its audit entry are written in one unit
 * of work; revocation then ends what the device signed in, outside it (sessions may live in Redis),
 * safe to repeat.
 */
import { createAdminSessions } from '@careid/oidc'
import { createDevices, createRequests, declineWaiting, deviceBinding, registrationTtlMs, type Device } from '@careid/mobile'
import { parsePerson, type Person } from '@careid/domain'
import { auditEntry } from './audit_entry.ts'
import type { AdminDeps } from './deps.ts'
import { AdminRefusal } from './refusal.ts'

export interface DeviceRegistration {
  person: Person
  device: Device
  /** The link the device opens: `{issuer}/mobile/#register=<token>`. Shown once, never stored. */
  link: string
  expires_at: number
}

export interface RevokedDevice {
  device: Device
  /** The sign-ins the device had approved that were ended. */
  sessionsEnded: number
}

/** A device as the audit log digests it: its facts, never its ceremonies' hashes. */
function audited(device: Device) {
  const { version: _version, ...facts } = device
  return facts
}

export function createDeviceAdmin(deps: AdminDeps) {
  const { store, now } = deps

  async function person(who: string): Promise<Person> {
    const json = (await store.people.get(who)) ?? (await store.people.getByUsername(who))
    if (json === undefined) throw new AdminRefusal(`no person with UID or username ${who}`)
    return parsePerson(json)
  }

  return {
    /** Starts a registration: a link, valid 15 minutes, for one device of the person. */
    async register(who: string, actor: string): Promise<DeviceRegistration> {
      const found = await person(who)
      const at = now()
      const { device, token } = await store.transaction(async (tx) => {
        const invited = await createDevices(tx.credentials).invite(found.uid, actor, at)
        await tx.audit.append(auditEntry({ at, type: 'device.registration_started', actor, subject: found.uid, before: undefined, after: audited(invited.device), detail: { device: invited.device.id } }))
        return invited
      })
      return { person: found, device, link: `${deps.issuer}/mobile/#register=${token}`, expires_at: at + registrationTtlMs }
    },

    /** Confirms the device showing `code` (the RA compares it with the worker present); it may then approve sign-ins. */
    async confirm(who: string, code: string, actor: string): Promise<{ person: Person; device: Device }> {
      const found = await person(who)
      if (!/^[0-9]{6}$/.test(code)) throw new AdminRefusal('the confirmation code is the 6 digits the device shows')
      const at = now()
      const outcome = await store.transaction(async (tx) => {
        const result = await createDevices(tx.credentials).confirm(found.uid, code, actor, at)
        if (result.outcome === 'confirmed') {
          await tx.audit.append(auditEntry({ at, type: 'device.confirmed', actor, subject: found.uid, before: audited(result.before), after: audited(result.device), detail: { device: result.device.id, registered_by: result.device.registered_by } }))
        } else if (result.outcome === 'wrong') {
          // Counted (and kept: the unit commits), so codes cannot be guessed one after another.
          await tx.audit.append(auditEntry({ at, type: 'device.confirmation_failed', actor, subject: found.uid, before: undefined, after: undefined, detail: { cancelled: result.cancelled } }))
        }
        return result
      })
      if (outcome.outcome === 'none') throw new AdminRefusal(`${found.username} has no device waiting for confirmation (the device shows its code after opening its registration link; the code lasts 15 minutes)`)
      if (outcome.outcome === 'wrong') {
        throw new AdminRefusal(outcome.cancelled ? 'wrong code, too many times: the registration is cancelled; start again with careid devices register' : 'that is not the code the device shows')
      }
      return { person: found, device: outcome.device }
    },

    /** The person's devices, or every person's when `who` is absent. */
    async list(who?: string): Promise<{ person: Person; devices: Device[] }[]> {
      const people = who === undefined ? (await store.people.list()).map(parsePerson) : [await person(who)]
      const devices = createDevices(store.credentials)
      const listed = await Promise.all(people.map(async (p) => ({ person: p, devices: await devices.list(p.uid) })))
      return listed.filter((entry) => who !== undefined || entry.devices.length > 0)
    },

    /**
     * Revokes the device: from the commit on it approves nothing, on every node. Then its waiting
     * sign-in requests are declined and the sign-ins it approved end (each with a back-channel
     * logout to its relying parties). Revoking again ends whatever is still left.
     */
    async revoke(id: string, actor: string): Promise<RevokedDevice> {
      const at = now()
      const { device, pending } = await store.transaction(async (tx) => {
        const devices = createDevices(tx.credentials)
        const current = await devices.get(id)
        if (current === undefined) throw new AdminRefusal(`no device ${id}`)
        const revoked = await devices.revoke(id, at)
        if (revoked === undefined) return { device: current, pending: [] as string[] }
        await tx.audit.append(auditEntry({ at, type: 'device.revoked', actor, subject: current.uid, before: audited(revoked.before), after: audited(revoked.device), detail: { device: id } }))
        return { device: revoked.device, pending: revoked.pending }
      })
      await declineWaiting(createRequests(store), pending, id, at)
      const sessions = createAdminSessions({ store, issuer: deps.issuer, now, announce: deps.announce })
      const sessionsEnded = await sessions.endBound(device.uid, 'device_revoked', async (binding) => binding === deviceBinding(id))
      return { device, sessionsEnded }
    },
  }
}
