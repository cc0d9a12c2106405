/**
 * TOTP codes as Microsoft Authenticator makes them: RFC 6238 with HMAC-SHA-1, 6 digits and a
 * 30-second period (the parameters every authenticator app supports from an otpauth:// QR code).
 */
import { Secret, TOTP } from 'otpauth'

const ALGORITHM = 'SHA1'
const DIGITS = 6
const PERIOD_SECONDS = 30
/** The issuer shown in the app next to the account. */
const ISSUER = 'Careid'
/**
 * Steps either side of the current one that are accepted, for clock drift and the time it takes to
 * type the code (RFC 6238 section 5.2 recommends at most one).
 */
const DRIFT_STEPS = 1
/** 160 bits, the HMAC-SHA-1 output size that RFC 4226 section 4 recommends for shared secrets. */
const SECRET_BYTES = 20

/** A new random shared secret, base32 encoded as apps expect it. */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32
}

/** The otpauth:// URL (the QR code's content) that loads `secretBase32` into an app under `label`. */
export function otpauthUrl(secretBase32: string, label: string): string {
  return totp(secretBase32, label).toString()
}

/** The code an app shows at `atMs` (for tests and the demo CLI). */
export function currentTotpCode(secretBase32: string, atMs: number): string {
  return totp(secretBase32).generate({ timestamp: atMs })
}

/**
 * The time step (counter) `code` was made for, if it is within one step of `atMs`; otherwise
 * undefined. The step, not the code, is what replay protection records.
 */
export function matchTotpStep(secretBase32: string, code: string, atMs: number): number | undefined {
  const generator = totp(secretBase32)
  const delta = generator.validate({ token: code, timestamp: atMs, window: DRIFT_STEPS })
  return delta === null ? undefined : generator.counter({ timestamp: atMs }) + delta
}

/** Whether `code` has the shape of a code (so malformed input is not counted as a guess). */
export function isTotpCodeShaped(code: string): boolean {
  return code.length === DIGITS && /^[0-9]+$/.test(code)
}

function totp(secretBase32: string, label?: string): TOTP {
  return new TOTP({
    issuer: ISSUER,
    ...(label === undefined ? {} : { label }),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  })
}
