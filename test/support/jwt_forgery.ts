/**
 * Hand-made JWTs that must be refused: `alg: none`, HS256 keyed with someone's public key (the
 * algorithm-confusion attack, RFC 8725 2.1), a signature by another key under a trusted `kid`, and
 * a payload edited under its original signature. Built from bytes with node:crypto, because JOSE
 * libraries rightly refuse to make most of these.
 */
import { constants, createHmac, createPublicKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto'

type Json = Record<string, unknown>

function segment(value: Json): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

/** The header and payload of a compact JWS, without checking anything. */
export function jwtParts(jwt: string): { header: Json; payload: Json; signature: string } {
  const [header = '', payload = '', signature = ''] = jwt.split('.')
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Json,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Json,
    signature,
  }
}

/** An unsecured JWT (RFC 7519 6.1): `alg: none` and an empty signature. */
export function unsignedJwt(header: Json, payload: Json): string {
  return `${segment({ ...header, alg: 'none' })}.${segment(payload)}.`
}

/** HS256 with `secret` as the HMAC key (for the confusion attack: a public key's PEM). */
export function hs256Jwt(header: Json, payload: Json, secret: string | Buffer): string {
  const input = `${segment({ ...header, alg: 'HS256' })}.${segment(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** RS256 with `privateKey`, whatever `kid` the header claims. */
export function rs256Jwt(header: Json, payload: Json, privateKey: KeyObject): string {
  const input = `${segment({ ...header, alg: 'RS256' })}.${segment(payload)}`
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, padding: constants.RSA_PKCS1_PADDING }).toString('base64url')}`
}

/** The same token with an edited payload and the original header and signature. */
export function withEditedPayload(jwt: string, changes: Json): string {
  const [header = '', , signature = ''] = jwt.split('.')
  return `${header}.${segment({ ...jwtParts(jwt).payload, ...changes })}.${signature}`
}

/** A public JWK as PEM (SubjectPublicKeyInfo): what an attacker would feed to HMAC. */
export function publicKeyPem(jwk: Json): string {
  return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
}
