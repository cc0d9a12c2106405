/**
 * The JWS the agent makes. A card signs raw bytes (ES256, r||s: what PKCS#11 CKM_ECDSA gives), so
 * the JWS is assembled here around it; the agent's instance key is a WebCrypto P-256 key, whose
 * ECDSA signatures are in the same raw form (RFC 7518 3.4).
 */
import { X509Certificate, webcrypto } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import type { UnlockedCard } from '@careid/cards'

const b64 = (value: Uint8Array | string) => Buffer.from(value).toString('base64url')

export interface AgentKey {
  publicJwk: JWK
  thumbprint: string
  sign(data: Uint8Array): Promise<Uint8Array>
}

/** The agent instance key: made at start, never stored, never leaves the process. */
export async function createAgentKey(): Promise<AgentKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: false })
  const exported = await exportJWK(publicKey)
  const publicJwk: JWK = { kty: 'EC', crv: 'P-256', x: exported.x as string, y: exported.y as string }
  return {
    publicJwk,
    thumbprint: await calculateJwkThumbprint(publicJwk, 'sha256'),
    async sign(data) {
      return new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey as webcrypto.CryptoKey, data))
    },
  }
}

type Signer = (data: Uint8Array) => Promise<Uint8Array>

async function signature(signer: Signer, protectedB64: string, payloadB64: string): Promise<string> {
  return b64(await signer(new TextEncoder().encode(`${protectedB64}.${payloadB64}`)))
}

/** A compact JWS (RFC 7515 7.1). */
export async function signCompact(signer: Signer, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const h = b64(JSON.stringify({ alg: 'ES256', ...header }))
  const p = b64(JSON.stringify(payload))
  return `${h}.${p}.${await signature(signer, h, p)}`
}

/** A general JSON JWS (RFC 7515 7.2.1) with one signature per signer, in order. */
export async function signGeneral(signers: Array<{ sign: Signer; header: Record<string, unknown> }>, payload: Record<string, unknown>): Promise<string> {
  const p = b64(JSON.stringify(payload))
  const signatures = []
  for (const s of signers) {
    const h = b64(JSON.stringify({ alg: 'ES256', ...s.header }))
    signatures.push({ protected: h, signature: await signature(s.sign, h, p) })
  }
  return JSON.stringify({ payload: p, signatures })
}

/** The card certificate as a JWS `x5c` entry (base64 DER, RFC 7515 4.1.6). */
export function x5cOf(card: UnlockedCard): string {
  return new X509Certificate(card.info.certificate).raw.toString('base64')
}
