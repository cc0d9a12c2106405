/**
 * Which authenticators' attestations Careid trusts, by AAGUID (the authenticator model's id in its
 * authenticator data), and the offline check that an attestation's certificate chain reaches one of
 * the model's trust anchors. A trust anchor is a public key (RFC 5280 6.1.1: "trust anchor
 * information ... the trusted public key"), with the validity of the certificate it came from.
 *
 * Nothing here reaches the network: revocation is what the metadata's status reports say
 * (a compromised model is not trusted at all), not a CRL fetched at sign-in.
 */
import { X509Certificate, type KeyObject } from 'node:crypto'

export interface TrustAnchor {
  key: KeyObject
  /** The anchor's validity (ms since the epoch), when it came from a certificate. */
  notBefore?: number | undefined
  notAfter?: number | undefined
}

/** What Careid knows of one authenticator model. */
export interface AuthenticatorModel {
  aaguid: string
  description: string
  anchors: readonly TrustAnchor[]
  /** Its metadata reports a compromise (attestation key, user verification bypass, ...): never AAL3. */
  compromised: boolean
}

/** The models whose attestation can make a credential AAL3, by AAGUID (lowercase, with dashes). */
export type AttestationTrust = ReadonlyMap<string, AuthenticatorModel>

/** The certificates in an attestation's x5c, leaf first, beyond which no path is built. */
const maxChainLength = 5

/** A trust anchor from a root certificate (DER or PEM): its key, valid while the certificate is. */
export function anchorOfCertificate(certificate: Buffer | string): TrustAnchor {
  const x509 = new X509Certificate(certificate)
  return { key: x509.publicKey, notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo) }
}

/**
 * Whether `x5c` (DER, leaf first) is a certificate path from the leaf to one of `anchors`, every
 * certificate valid at `now`: each certificate is signed by the next, which is a CA, and the last is
 * signed by an anchor's key (the last may be the root itself, self-signed with that key).
 */
export function chainsToAnchor(x5c: readonly Uint8Array[], anchors: readonly TrustAnchor[], now: number): boolean {
  if (x5c.length === 0 || x5c.length > maxChainLength) return false
  let certificates: X509Certificate[]
  try {
    certificates = x5c.map((der) => new X509Certificate(Buffer.from(der)))
  } catch {
    return false
  }
  if (!certificates.every((certificate) => validAt(Date.parse(certificate.validFrom), Date.parse(certificate.validTo), now))) return false
  for (let i = 0; i + 1 < certificates.length; i++) {
    const [child, parent] = [certificates[i] as X509Certificate, certificates[i + 1] as X509Certificate]
    if (!parent.ca || !child.checkIssued(parent) || !safeVerify(child, parent.publicKey)) return false
  }
  const last = certificates[certificates.length - 1] as X509Certificate
  return anchors.some((anchor) => validAt(anchor.notBefore, anchor.notAfter, now) && safeVerify(last, anchor.key))
}

function validAt(notBefore: number | undefined, notAfter: number | undefined, now: number): boolean {
  return (notBefore === undefined || notBefore <= now) && (notAfter === undefined || now <= notAfter)
}

function safeVerify(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.verify(key)
  } catch {
    return false
  }
}
