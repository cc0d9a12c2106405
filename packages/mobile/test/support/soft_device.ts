/**
 * A tablet or phone in software, for tests: its device key (ECDSA P-256, signing calls as the app
 * does) and a WebAuthn platform authenticator (`none` attestation, user verification reported as
 * the test says), producing the JSON the browser library would send.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { CompactSign } from 'jose'

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor>

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length])
  if (length < 256) return Buffer.from([(major << 5) | 24, length])
  const b = Buffer.alloc(3)
  b[0] = (major << 5) | 25
  b.writeUInt16BE(length, 1)
  return b
}

/** The little CBOR WebAuthn needs: integers, text, bytes, arrays, maps. */
function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)])
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)])
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)])
  return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])])
}

const b64u = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url')
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest()

export interface SoftDeviceOptions {
  origin: string
  /** Whether the authenticator reports user verification (the worker's biometric). */
  userVerified?: boolean
  /** The device's clock (its calls' `iat`); the wall clock by default. */
  now?: () => number
}

export function softDevice(options: SoftDeviceOptions) {
  const rpId = new URL(options.origin).hostname
  const deviceKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const credentialKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const credentialId = randomBytes(16)
  let counter = 0
  let deviceId: string | undefined
  let userVerified = options.userVerified !== false

  function flags(): number {
    return 0x01 | (userVerified ? 0x04 : 0)
  }

  function counterBytes(): Buffer {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(counter)
    return b
  }

  function clientData(type: string, challenge: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: options.origin, crossOrigin: false }))
  }

  return {
    /** The device key's public JWK, as the app sends it. */
    publicJwk(): { kty: 'EC'; crv: 'P-256'; x: string; y: string } {
      const { x, y } = deviceKey.publicKey.export({ format: 'jwk' })
      return { kty: 'EC', crv: 'P-256', x: x as string, y: y as string }
    },
    set id(value: string) {
      deviceId = value
    },
    get id(): string {
      return deviceId as string
    },
    /** `navigator.credentials.create`'s answer to registration options. */
    attestation(optionsJson: { challenge: string }) {
      const jwk = credentialKey.publicKey.export({ format: 'jwk' })
      const cose = new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x as string, 'base64url')],
        [-3, Buffer.from(jwk.y as string, 'base64url')],
      ])
      const idLength = Buffer.alloc(2)
      idLength.writeUInt16BE(credentialId.length)
      const authData = Buffer.concat([sha256(rpId), Buffer.from([flags() | 0x40]), counterBytes(), Buffer.alloc(16), idLength, credentialId, cbor(cose)])
      const attestationObject = cbor(new Map<Cbor, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]))
      return {
        id: b64u(credentialId),
        rawId: b64u(credentialId),
        type: 'public-key',
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
        response: { clientDataJSON: b64u(clientData('webauthn.create', optionsJson.challenge)), attestationObject: b64u(attestationObject), transports: ['internal'] },
      }
    },
    /** `navigator.credentials.get`'s answer to authentication options. */
    assertion(optionsJson: { challenge: string }) {
      counter++
      const authData = Buffer.concat([sha256(rpId), Buffer.from([flags()]), counterBytes()])
      const data = clientData('webauthn.get', optionsJson.challenge)
      const signature = sign('sha256', Buffer.concat([authData, sha256(data)]), credentialKey.privateKey)
      return {
        id: b64u(credentialId),
        rawId: b64u(credentialId),
        type: 'public-key',
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
        response: { clientDataJSON: b64u(data), authenticatorData: b64u(authData), signature: b64u(signature) },
      }
    },
    /** Whether the authenticator verifies the user from now on. */
    setUserVerified(value: boolean) {
      userVerified = value
    },
    /** Sets the signature counter (a cloned authenticator's would go back). */
    setCounter(value: number) {
      counter = value
    },
    /** A device call's JWS, as the app signs it. */
    async call(audience: string, claims: { [key: string]: unknown } = {}, overrides: { iat?: number; jti?: string; key?: KeyObject } = {}): Promise<string> {
      const payload = { aud: audience, iat: overrides.iat ?? Math.floor((options.now?.() ?? Date.now()) / 1000), jti: overrides.jti ?? randomBytes(18).toString('base64url'), ...claims }
      return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256', kid: deviceId as string, typ: 'JWT' }).sign(overrides.key ?? deviceKey.privateKey)
    },
  }
}

export type SoftDevice = ReturnType<typeof softDevice>
