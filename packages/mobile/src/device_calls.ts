/**
 * Every call a registered device makes is a compact JWS signed with its device key (ECDSA P-256,
 * made non-extractable by WebCrypto on the device): header `{ alg: "ES256", kid: <device id> }`,
 * payload `{ aud, iat, jti, ... }`. `aud` is the endpoint's own URL (a call signed for one endpoint
 * is no good at another), `iat` within a minute of the provider's clock, and `jti` used once per
 * device (a replayed call is refused), so a captured call can be neither replayed nor redirected.
 */
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose'
import type { ReplayCache } from '@careid/ports'
import type { Device, Devices } from './devices.ts'

/** How far a call's `iat` may stray from the provider's clock (either way). */
export const callSkewMs = 60_000

export type CallRefusal = 'malformed' | 'unknown_device' | 'device_revoked' | 'bad_signature' | 'wrong_audience' | 'stale' | 'replayed'

export type VerifiedCall = { ok: true; device: Device; claims: { [key: string]: unknown } } | { ok: false; reason: CallRefusal }

export async function verifyDeviceCall(
  deps: { devices: Devices; replay: Pick<ReplayCache, 'markUsed'> },
  jws: unknown,
  audience: string,
  now: number,
  /** The statuses that may make this call (`confirming` may only ask whether it is active yet). */
  allowed: readonly Device['status'][],
): Promise<VerifiedCall> {
  if (typeof jws !== 'string' || jws.length > 65_536) return { ok: false, reason: 'malformed' }
  let kid: unknown
  try {
    const header = decodeProtectedHeader(jws)
    if (header.alg !== 'ES256') return { ok: false, reason: 'malformed' }
    kid = header.kid
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  if (typeof kid !== 'string' || kid.length > 64) return { ok: false, reason: 'malformed' }
  const device = await deps.devices.get(kid)
  if (device === undefined || device.key === undefined) return { ok: false, reason: 'unknown_device' }
  if (!allowed.includes(device.status)) return { ok: false, reason: device.status === 'revoked' ? 'device_revoked' : 'unknown_device' }
  let claims: { [key: string]: unknown }
  try {
    const key = await importJWK({ ...device.key }, 'ES256')
    const { payload } = await compactVerify(jws, key, { algorithms: ['ES256'] })
    claims = JSON.parse(new TextDecoder().decode(payload)) as { [key: string]: unknown }
  } catch {
    return { ok: false, reason: 'bad_signature' }
  }
  if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'malformed' }
  if (claims.aud !== audience) return { ok: false, reason: 'wrong_audience' }
  const { iat, jti } = claims
  if (typeof iat !== 'number' || Math.abs(iat * 1000 - now) > callSkewMs) return { ok: false, reason: 'stale' }
  if (typeof jti !== 'string' || jti.length < 16 || jti.length > 64) return { ok: false, reason: 'malformed' }
  // Kept past the last moment its iat is accepted, so it can never be presented again.
  if (!(await deps.replay.markUsed(`mobile-call:${device.id}:${jti}`, iat * 1000 + 2 * callSkewMs, now))) return { ok: false, reason: 'replayed' }
  return { ok: true, device, claims }
}
