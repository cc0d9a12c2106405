/**
 * The mobile app's endpoints under the issuer, JSON in and out:
 *
 * - `/mobile/api/register/options` and `/mobile/api/register`: the device opens its registration
 *   link (a one-time token), makes its WebAuthn platform credential (user verification required)
 *   and sends its device key's public half; it is then shown the confirmation code for the RA.
 * - `/mobile/api/device`, `/mobile/api/requests` (a long poll, answered when the device's list of
 *   requests changes), `/mobile/api/approve`,
 *   `/mobile/api/decline`: calls of a registered device, each a JWS signed with its device key
 *   (`device_calls.ts`).
 * - `/mobile/status`: the sign-in page's script asks whether its request was answered.
 *
 * Everything is read from the store, so any node answers any of them.
 */
import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server'
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import { importJWK } from 'jose'
import { parsePerson } from '@careid/domain'
import { safeEqual } from '@careid/oidc'
import { PluginRefusal, type PersonStore, type PluginRequest, type PluginRoute, type ReplayCache } from '@careid/ports'
import { verifyDeviceCall, type CallRefusal } from './device_calls.ts'
import type { Device, DeviceKey, Devices } from './devices.ts'
import { publicStatus, type Requests, type SignInRequest } from './requests.ts'

/** How long the device's long poll waits for a request before answering with none. */
export const longPollMs = 25_000
/** How often a waiting long poll reads the store. */
const pollEveryMs = 500

export interface MobileRouteDeps {
  issuer: string
  devices: Devices
  requests: Requests
  people: Pick<PersonStore, 'get'>
  replay: Pick<ReplayCache, 'markUsed'>
  now: () => number
  /** How long a long poll waits (tests shorten it). */
  longPollMs?: number | undefined
}

export const mobilePaths = {
  registerOptions: '/mobile/api/register/options',
  register: '/mobile/api/register',
  device: '/mobile/api/device',
  requests: '/mobile/api/requests',
  approve: '/mobile/api/approve',
  decline: '/mobile/api/decline',
  status: '/mobile/status',
} as const

const callRefusals: Record<CallRefusal, string> = {
  malformed: 'The call is not a device call this service can read.',
  unknown_device: 'This device is not registered.',
  device_revoked: 'This device was revoked.',
  bad_signature: 'The call was not signed by this device.',
  wrong_audience: 'The call was signed for another endpoint.',
  stale: "The call's time is too far from this service's clock. Check the device's date and time.",
  replayed: 'The call was already made.',
}

function body(request: PluginRequest): { [key: string]: unknown } {
  const b = request.body
  return typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as { [key: string]: unknown }) : {}
}

function isDeviceKey(value: unknown): value is DeviceKey {
  const k = value as DeviceKey | null
  const coordinate = /^[A-Za-z0-9_-]{43}$/
  return typeof k === 'object' && k !== null && k.kty === 'EC' && k.crv === 'P-256' && coordinate.test(String(k.x)) && coordinate.test(String(k.y))
}

/**
 * A device's own words (its name, its user agent) as Careid keeps and shows them: control
 * characters removed (they would reach an RA's terminal through `careid devices list`), trimmed,
 * at most `max` characters.
 */
function printable(value: unknown, max: number): string {
  return typeof value === 'string' ? value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().slice(0, max) : ''
}

/** Waits `ms`, or less if `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

export function mobileRoutes(deps: MobileRouteDeps): PluginRoute[] {
  const { issuer, devices, requests, now } = deps
  const origin = new URL(issuer).origin
  const rpID = new URL(issuer).hostname
  const audience = (path: string) => issuer + path
  const waitMs = deps.longPollMs ?? longPollMs

  async function deviceCall(request: PluginRequest, path: string, allowed: readonly Device['status'][]): Promise<{ device: Device; claims: { [key: string]: unknown } }> {
    const verified = await verifyDeviceCall({ devices, replay: deps.replay }, body(request).jws, audience(path), now(), allowed)
    if (!verified.ok) throw new PluginRefusal('invalid_token', 401, callRefusals[verified.reason], { reason: verified.reason })
    return verified
  }

  async function invitation(token: unknown) {
    const found = await devices.invitation(token, now())
    if (found === undefined) throw new PluginRefusal('invalid_grant', 400, 'This registration link is not valid: it was used already, has expired, or was mistyped. Ask your Registration Authority for a new one.')
    return found
  }

  async function worker(uid: string): Promise<{ username: string; display_name: string }> {
    const person = await deps.people.get(uid)
    if (person === undefined) throw new PluginRefusal('invalid_grant', 400, 'The person this device is for is no longer registered.')
    const { username, display_name } = parsePerson(person)
    return { username, display_name }
  }

  /** A request this device may answer: its worker's, pending, unexpired. */
  async function answerable(device: Device, id: unknown): Promise<SignInRequest> {
    const found = await requests.get(id, now())
    if (found === undefined || found.uid !== device.uid) throw new PluginRefusal('invalid_request', 404, 'There is no such sign-in request for this device.', { reason: 'unknown_request' })
    if (found.status !== 'pending') throw new PluginRefusal('invalid_request', 409, 'This sign-in request was already answered.', { reason: 'already_answered' })
    if (found.expires_at <= now()) throw new PluginRefusal('invalid_request', 410, 'This sign-in request has expired.', { reason: 'request_expired' })
    return found
  }

  async function shown(device: Device, request: SignInRequest) {
    const webauthn = device.webauthn
    const options = await generateAuthenticationOptions({
      rpID,
      challenge: Buffer.from(request.challenge, 'base64url'),
      userVerification: 'required',
      allowCredentials: webauthn === undefined ? [] : [{ id: webauthn.id, transports: webauthn.transports as never }],
      timeout: Math.max(1_000, request.expires_at - now()),
    })
    const { id, client_name, organisations, source, created_at, expires_at } = request
    return { id, client_name, organisations, source, created_at, expires_at, webauthn: options }
  }

  /** The device's pending requests, as the device shows them. */
  async function pendingFor(device: Device) {
    const listed: SignInRequest[] = []
    for (const id of await devices.pending(device.id, now())) {
      const found = await requests.get(id, now())
      if (found !== undefined && found.uid === device.uid && found.status === 'pending' && found.expires_at > now()) listed.push(found)
    }
    return listed
  }

  return [
    {
      method: 'POST',
      path: mobilePaths.registerOptions,
      async handle(request) {
        const found = await invitation(body(request).token)
        const person = await worker(found.uid)
        const options = await generateRegistrationOptions({
          rpName: 'Careid',
          rpID,
          userName: person.username,
          userDisplayName: person.display_name,
          // Each device its own credential: the device's id, not the person's, is its user handle.
          userID: new TextEncoder().encode(found.id),
          attestationType: 'none',
          authenticatorSelection: { authenticatorAttachment: 'platform', residentKey: 'discouraged', userVerification: 'required' },
          timeout: 120_000,
        })
        if (!(await devices.setRegistrationChallenge(found, options.challenge))) throw new PluginRefusal('invalid_grant', 409, 'This registration link is being used by another device.')
        return { options, worker: person.display_name }
      },
    },
    {
      method: 'POST',
      path: mobilePaths.register,
      async handle(request) {
        const input = body(request)
        const found = await invitation(input.token)
        const challenge = devices.registrationChallenge(found)
        if (challenge === undefined) throw new PluginRefusal('invalid_request', 400, 'Ask for the registration options first.')
        if (!isDeviceKey(input.key)) throw new PluginRefusal('invalid_request', 400, 'The device key must be an ECDSA P-256 public key (JWK).')
        try {
          await importJWK({ kty: 'EC', crv: 'P-256', x: input.key.x, y: input.key.y }, 'ES256')
        } catch {
          throw new PluginRefusal('invalid_request', 400, 'The device key is not a point on P-256.')
        }
        let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>
        try {
          verified = await verifyRegistrationResponse({
            response: input.attestation as RegistrationResponseJSON,
            expectedChallenge: challenge,
            expectedOrigin: origin,
            expectedRPID: rpID,
            // The device's biometric gate: the credential must verify the worker (cis2.md 4: "fingerprint").
            requireUserVerification: true,
          })
        } catch {
          throw new PluginRefusal('access_denied', 400, "The device's registration could not be verified: it must be made on this device, with its fingerprint, face or passcode.")
        }
        if (!verified.verified) throw new PluginRefusal('access_denied', 400, "The device's registration could not be verified.")
        const { credential } = verified.registrationInfo
        const name = printable(input.name, 80) || 'Tablet or phone'
        const userAgent = printable(request.header('user-agent'), 300)
        const key: DeviceKey = { kty: 'EC', crv: 'P-256', x: input.key.x, y: input.key.y }
        const webauthn = { id: credential.id, public_key: Buffer.from(credential.publicKey).toString('base64url'), counter: credential.counter, transports: credential.transports ?? [] }
        const done = await devices.registered(found, { key, webauthn, name, user_agent: userAgent }, now())
        if (done === undefined) throw new PluginRefusal('invalid_grant', 409, 'This registration link was used by another device.')
        return { device_id: found.id, code: done.code, worker: (await worker(found.uid)).display_name }
      },
    },
    {
      method: 'POST',
      path: mobilePaths.device,
      async handle(request) {
        const { device } = await deviceCall(request, mobilePaths.device, ['confirming', 'active'])
        return { status: device.status, name: device.name, worker: (await worker(device.uid)).display_name }
      },
    },
    {
      method: 'POST',
      path: mobilePaths.requests,
      async handle(request) {
        const { device, claims } = await deviceCall(request, mobilePaths.requests, ['active'])
        // The requests the device shows now: the answer waits until the list differs (a request
        // made, answered or expired; read from the store, whichever node changed it), the wait is
        // over, or the device went away.
        const known = new Set(Array.isArray(claims.known) ? claims.known.filter((id): id is string => typeof id === 'string').slice(0, 50) : [])
        const until = Date.now() + waitMs
        for (;;) {
          const listed = await pendingFor(device)
          const changed = listed.length !== known.size || listed.some((r) => !known.has(r.id))
          if (changed || Date.now() >= until || request.signal.aborted) return { requests: await Promise.all(listed.map((r) => shown(device, r))) }
          await pause(Math.min(pollEveryMs, until - Date.now()), request.signal)
          const current = await devices.get(device.id)
          if (current?.status !== 'active') throw new PluginRefusal('invalid_token', 401, callRefusals.device_revoked, { reason: 'device_revoked' })
        }
      },
    },
    {
      method: 'POST',
      path: mobilePaths.approve,
      async handle(request) {
        const { device, claims } = await deviceCall(request, mobilePaths.approve, ['active'])
        const found = await answerable(device, claims.request)
        const number = claims.number
        if (typeof number !== 'string' || !/^[0-9]{2}$/.test(number)) throw new PluginRefusal('invalid_request', 400, 'Enter the two-digit number the sign-in page shows.', { reason: 'missing_number' })
        const webauthn = device.webauthn
        const assertion = claims.assertion as AuthenticationResponseJSON | undefined
        let counter: number
        try {
          if (webauthn === undefined || assertion?.id !== webauthn.id) throw new Error('another credential')
          const verified = await verifyAuthenticationResponse({
            response: assertion,
            expectedChallenge: found.challenge,
            expectedOrigin: origin,
            expectedRPID: rpID,
            credential: { id: webauthn.id, publicKey: Buffer.from(webauthn.public_key, 'base64url'), counter: webauthn.counter, transports: webauthn.transports as never },
            requireUserVerification: true,
          })
          if (!verified.verified || !verified.authenticationInfo.userVerified) throw new Error('not verified')
          counter = verified.authenticationInfo.newCounter
        } catch {
          throw new PluginRefusal('access_denied', 403, "The approval was not confirmed with this device's fingerprint, face or passcode.", { reason: 'user_not_verified' })
        }
        // A wrong number kills the request: the person at the sign-in page is not the one at this device.
        const matches = safeEqual(number, found.number)
        if (!(await requests.decide(found, matches ? 'approved' : 'number_mismatch', device.id, now()))) throw new PluginRefusal('invalid_request', 409, 'This sign-in request was already answered.', { reason: 'already_answered' })
        await devices.counted(device, counter)
        return { outcome: matches ? 'approved' : 'number_mismatch' }
      },
    },
    {
      method: 'POST',
      path: mobilePaths.decline,
      async handle(request) {
        const { device, claims } = await deviceCall(request, mobilePaths.decline, ['active'])
        const found = await answerable(device, claims.request)
        if (!(await requests.decide(found, 'declined', device.id, now()))) throw new PluginRefusal('invalid_request', 409, 'This sign-in request was already answered.', { reason: 'already_answered' })
        return { outcome: 'declined' }
      },
    },
    {
      method: 'POST',
      path: mobilePaths.status,
      async handle(request) {
        return { status: publicStatus(await requests.get(body(request).request, now()), now()) }
      },
    },
  ]
}
