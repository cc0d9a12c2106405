/**
 * JSON Web Signatures made by smartcards and by the Identity Agent's own key. A card signs with
 * ES256 (raw r||s, RFC 7518 3.4), which is what PKCS#11 CKM_ECDSA returns, so the agent builds the
 * JWS itself around `UnlockedCard.sign`, and the provider checks it with jose.
 */
import { X509Certificate } from 'node:crypto'
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, flattenedVerify, importJWK, importX509, type JWK } from 'jose'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A card certificate carried in a JWS `x5c` header (base64 DER, RFC 7515 4.1.6) as PEM. */
export function pemOfX5c(der: string): string | undefined {
  try {
    const cert = new X509Certificate(Buffer.from(der, 'base64'))
    return cert.toString()
  } catch {
    return undefined
  }
}

export function x5cOfPem(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64')
}

function payloadOf(bytes: Uint8Array): { [key: string]: Json } | undefined {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Json
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined
  }
}

/** The header of a compact JWS, or undefined when it is not one. */
export function compactHeader(jws: string): { [key: string]: unknown } | undefined {
  try {
    return decodeProtectedHeader(jws) as { [key: string]: unknown }
  } catch {
    return undefined
  }
}

/** A card's key (its PEM certificate) or the agent's (a public JWK). */
export type VerificationKey = { pem: string } | { jwk: JWK }

function importEs256(key: VerificationKey) {
  return 'pem' in key ? importX509(key.pem, 'ES256') : importJWK(key.jwk, 'ES256')
}

/** Verifies a compact ES256 JWS; the payload, or undefined. */
export async function verifyCompact(jws: string, key: VerificationKey): Promise<{ [key: string]: Json } | undefined> {
  try {
    const { payload } = await compactVerify(jws, await importEs256(key), { algorithms: ['ES256'] })
    return payloadOf(payload)
  } catch {
    return undefined
  }
}

/** One signature of a JWS in the general JSON serialization (RFC 7515 7.2.1). */
export interface GeneralSignature {
  protected: string
  signature: string
}
export interface GeneralJws {
  payload: string
  signatures: GeneralSignature[]
}

export function parseGeneralJws(text: string): GeneralJws | undefined {
  try {
    const value = JSON.parse(text) as { payload?: unknown; signatures?: unknown }
    if (typeof value.payload !== 'string' || !Array.isArray(value.signatures)) return undefined
    const signatures = value.signatures.filter((s): s is GeneralSignature => typeof s?.protected === 'string' && typeof s?.signature === 'string')
    return signatures.length === value.signatures.length ? { payload: value.payload, signatures } : undefined
  } catch {
    return undefined
  }
}

/** Verifies one signature of a general JWS; the payload, or undefined. */
export async function verifyGeneralSignature(jws: GeneralJws, index: number, key: VerificationKey): Promise<{ [key: string]: Json } | undefined> {
  const signature = jws.signatures[index]
  if (signature === undefined) return undefined
  try {
    const { payload } = await flattenedVerify({ payload: jws.payload, protected: signature.protected, signature: signature.signature }, await importEs256(key), { algorithms: ['ES256'] })
    return payloadOf(payload)
  } catch {
    return undefined
  }
}

/** An EC P-256 public JWK (the agent's instance key) and its RFC 7638 thumbprint, or undefined. */
export async function agentKeyOf(value: unknown): Promise<{ jwk: JWK; thumbprint: string } | undefined> {
  if (value === null || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  if (v.kty !== 'EC' || v.crv !== 'P-256' || typeof v.x !== 'string' || typeof v.y !== 'string' || 'd' in v) return undefined
  const jwk: JWK = { kty: 'EC', crv: 'P-256', x: v.x, y: v.y }
  try {
    await importJWK(jwk, 'ES256')
    return { jwk, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') }
  } catch {
    return undefined
  }
}
