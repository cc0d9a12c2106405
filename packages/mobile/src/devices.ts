/**
 * A worker's registered devices: credentials of kind `mobile` in the credential store, each moving
 * forward only, `invited` (the Registration Authority made a one-time registration link) ->
 * `confirming` (the device registered its key pair and WebAuthn credential and shows a code) ->
 * `active` (the RA compared the code with the worker present) -> `revoked`. Every change is a
 * compare-and-set on the record's version, so a registration link is used once and a device is
 * confirmed or revoked once, whichever node or process does it.
 *
 * Nothing secret is kept in the clear: the registration link's secret and the confirmation code are
 * stored as SHA-256 hashes; the device's keys are public keys.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { safeEqual, sha256 } from '@careid/oidc'
import type { CredentialRecord, CredentialStore, Json } from '@careid/ports'

export const DEVICE_KIND = 'mobile'
/** How long a registration link may be opened (the RA gives it with the worker present). */
export const registrationTtlMs = 15 * 60_000
/** How long the confirmation code the device shows may be confirmed. */
export const confirmationTtlMs = 15 * 60_000
/** Wrong confirmation codes after which the registration is cancelled (the RA starts again). */
export const confirmationAttempts = 5

export type DeviceStatus = 'invited' | 'confirming' | 'active' | 'revoked'

/** The device's ECDSA P-256 public key (WebCrypto's, non-extractable private half on the device). */
export interface DeviceKey {
  kty: 'EC'
  crv: 'P-256'
  x: string
  y: string
}

/** The device's WebAuthn platform credential: its biometric gate. */
export interface DeviceWebAuthn {
  id: string
  /** COSE public key, base64url. */
  public_key: string
  counter: number
  transports: string[]
}

export interface Device {
  id: string
  uid: string
  status: DeviceStatus
  created_at: number
  /** Who started the registration (`cli:<os user>`). */
  registered_by: string
  /** Who confirmed it with the worker present. */
  confirmed_by?: string | undefined
  activated_at?: number | undefined
  revoked_at?: number | undefined
  name?: string | undefined
  user_agent?: string | undefined
  key?: DeviceKey | undefined
  webauthn?: DeviceWebAuthn | undefined
  version: number
}

/** A device as a credential record holds it: its facts, and the hashes and counters of its ceremonies. */
interface DeviceState {
  status: DeviceStatus
  registered_by: string
  token_hash?: string
  token_expires_at?: number
  webauthn_challenge?: string
  code_hash?: string
  code_expires_at?: number
  code_attempts?: number
  confirmed_by?: string
  activated_at?: number
  revoked_at?: number
  name?: string
  user_agent?: string
  key?: DeviceKey
  webauthn?: DeviceWebAuthn
  /** Sign-in requests waiting for this device (ids and ends), newest last. */
  pending?: { id: string; exp: number }[]
}

function stateOf(record: CredentialRecord): DeviceState {
  return record.state as unknown as DeviceState
}

function toJson(state: DeviceState): { [key: string]: Json } {
  return JSON.parse(JSON.stringify(state)) as { [key: string]: Json }
}

export function deviceOf(record: CredentialRecord): Device {
  const s = stateOf(record)
  return {
    id: record.id,
    uid: record.uid,
    status: s.status,
    created_at: record.created_at,
    registered_by: s.registered_by,
    confirmed_by: s.confirmed_by,
    activated_at: s.activated_at,
    revoked_at: s.revoked_at,
    name: s.name,
    user_agent: s.user_agent,
    key: s.key,
    webauthn: s.webauthn,
    version: record.version,
  }
}

/** A registration link's token: the device record's id and a secret, `<id>.<secret>`. */
export function splitRegistrationToken(token: unknown): { id: string; secret: string } | undefined {
  if (typeof token !== 'string' || token.length > 200) return undefined
  const match = /^(dev-[0-9a-f]{24})\.([A-Za-z0-9_-]{43})$/.exec(token)
  return match === null ? undefined : { id: match[1] as string, secret: match[2] as string }
}

/** The store operations on devices, over a credential store (the store's, or a unit of work's). */
export function createDevices(credentials: CredentialStore) {
  async function record(id: string): Promise<CredentialRecord | undefined> {
    const found = await credentials.get(id)
    return found?.kind === DEVICE_KIND ? found : undefined
  }

  /** Compare-and-set: `change` the state as read; false if another writer changed it first. */
  async function update(found: CredentialRecord, change: (state: DeviceState) => DeviceState): Promise<boolean> {
    return credentials.updateState(found.id, found.version, toJson(change({ ...stateOf(found) })))
  }

  return {
    /** A new device for `uid`, awaiting its registration link (`token`, shown once). */
    async invite(uid: string, actor: string, now: number): Promise<{ device: Device; token: string }> {
      const id = `dev-${randomBytes(12).toString('hex')}`
      const secret = randomBytes(32).toString('base64url')
      const state: DeviceState = { status: 'invited', registered_by: actor, token_hash: sha256(secret), token_expires_at: now + registrationTtlMs }
      const created: CredentialRecord = { id, uid, kind: DEVICE_KIND, secret: '', state: toJson(state), version: 0, created_at: now }
      await credentials.put(created)
      return { device: deviceOf(created), token: `${id}.${secret}` }
    },

    /** The invited device a registration link names, if the link is live and its secret right. */
    async invitation(token: unknown, now: number): Promise<CredentialRecord | undefined> {
      const parts = splitRegistrationToken(token)
      const found = parts === undefined ? undefined : await record(parts.id)
      if (found === undefined || parts === undefined) return undefined
      const s = stateOf(found)
      if (s.status !== 'invited' || s.token_hash === undefined || (s.token_expires_at ?? 0) <= now) return undefined
      return safeEqual(sha256(parts.secret), s.token_hash) ? found : undefined
    },

    /** Keeps the WebAuthn challenge of the registration the device is making. */
    setRegistrationChallenge(found: CredentialRecord, challenge: string): Promise<boolean> {
      return update(found, (s) => ({ ...s, webauthn_challenge: challenge }))
    },

    registrationChallenge(found: CredentialRecord): string | undefined {
      return stateOf(found).webauthn_challenge
    },

    /**
     * The device registered its keys: the link is used up (the compare-and-set from the record as
     * read lets one registration through) and the device shows `code` until the RA confirms it.
     */
    async registered(found: CredentialRecord, facts: { key: DeviceKey; webauthn: DeviceWebAuthn; name: string; user_agent: string }, now: number): Promise<{ code: string } | undefined> {
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
      const ok = await update(found, (s) => {
        const { token_hash: _t, token_expires_at: _e, webauthn_challenge: _c, ...rest } = s
        return { ...rest, ...facts, status: 'confirming', code_hash: sha256(code), code_expires_at: now + confirmationTtlMs, code_attempts: 0 }
      })
      return ok ? { code } : undefined
    },

    /**
     * The RA's confirmation, with the worker present: the code the device shows, compared in
     * constant time. `wrong` counts an attempt; the last one cancels the registration.
     */
    async confirm(uid: string, code: string, actor: string, now: number): Promise<{ outcome: 'confirmed'; before: Device; device: Device } | { outcome: 'wrong'; cancelled: boolean } | { outcome: 'none' }> {
      const waiting = (await credentials.listByPerson(uid)).filter((c) => c.kind === DEVICE_KIND && stateOf(c).status === 'confirming' && (stateOf(c).code_expires_at ?? 0) > now)
      if (waiting.length === 0) return { outcome: 'none' }
      const hash = sha256(code)
      for (const found of waiting) {
        const s = stateOf(found)
        if (s.code_hash === undefined || !safeEqual(hash, s.code_hash)) continue
        const ok = await update(found, (current) => {
          const { code_hash: _h, code_expires_at: _e, code_attempts: _a, ...rest } = current
          return { ...rest, status: 'active', confirmed_by: actor, activated_at: now }
        })
        if (!ok) continue
        const after = await record(found.id)
        return { outcome: 'confirmed', before: deviceOf(found), device: deviceOf(after as CredentialRecord) }
      }
      // Every waiting registration of the person counts the wrong code.
      let cancelled = false
      for (const found of waiting) {
        const attempts = (stateOf(found).code_attempts ?? 0) + 1
        if (attempts >= confirmationAttempts) {
          await credentials.remove(found.id)
          cancelled = true
        } else {
          await update(found, (s) => ({ ...s, code_attempts: attempts }))
        }
      }
      return { outcome: 'wrong', cancelled }
    },

    async get(id: string): Promise<Device | undefined> {
      const found = await record(id)
      return found === undefined ? undefined : deviceOf(found)
    },

    /** The person's devices that reached the device (not bare invitations), oldest first. */
    async list(uid: string): Promise<Device[]> {
      return (await credentials.listByPerson(uid)).filter((c) => c.kind === DEVICE_KIND).map(deviceOf)
    },

    /** Revokes the device (once); its pending requests are returned, for ending. Undefined if it was not live. */
    async revoke(id: string, now: number): Promise<{ before: Device; device: Device; pending: string[] } | undefined> {
      for (let attempt = 0; attempt < 5; attempt++) {
        const found = await record(id)
        if (found === undefined || stateOf(found).status === 'revoked') return undefined
        const pending = (stateOf(found).pending ?? []).filter((p) => p.exp > now).map((p) => p.id)
        const ok = await update(found, (s) => {
          const { token_hash: _t, token_expires_at: _e, webauthn_challenge: _c, code_hash: _h, code_expires_at: _x, pending: _p, ...rest } = s
          return { ...rest, status: 'revoked', revoked_at: now }
        })
        if (ok) return { before: deviceOf(found), device: deviceOf((await record(id)) as CredentialRecord), pending }
      }
      throw new Error('the device record kept changing while being revoked')
    },

    /** Sign-in requests waiting for the device, unexpired. */
    async pending(id: string, now: number): Promise<string[]> {
      const found = await record(id)
      if (found === undefined || stateOf(found).status !== 'active') return []
      return (stateOf(found).pending ?? []).filter((p) => p.exp > now).map((p) => p.id)
    },

    /** Puts a sign-in request before every active device of the person (expired ones dropped). */
    async offer(uid: string, request: { id: string; exp: number }, now: number): Promise<number> {
      let offered = 0
      for (const listed of await credentials.listByPerson(uid)) {
        if (listed.kind !== DEVICE_KIND || stateOf(listed).status !== 'active') continue
        for (let attempt = 0, found: CredentialRecord | undefined = listed; attempt < 5 && found !== undefined; attempt++) {
          const ok = await update(found, (s) => ({ ...s, pending: [...(s.pending ?? []).filter((p) => p.exp > now), request] }))
          if (ok) {
            offered++
            break
          }
          found = await record(listed.id)
          if (found !== undefined && stateOf(found).status !== 'active') break
        }
      }
      return offered
    },

    /** A device's WebAuthn signature counter moved forward. */
    async counted(device: Device, counter: number): Promise<boolean> {
      for (let attempt = 0; attempt < 5; attempt++) {
        const found = await record(device.id)
        const webauthn = found === undefined ? undefined : stateOf(found).webauthn
        if (found === undefined || webauthn === undefined) return false
        if (webauthn.counter >= counter) return true
        if (await update(found, (s) => ({ ...s, webauthn: { ...webauthn, counter } }))) return true
      }
      return false
    },
  }
}

export type Devices = ReturnType<typeof createDevices>
