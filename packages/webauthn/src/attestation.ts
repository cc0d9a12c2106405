/**
 * The level a new credential reaches (decided at registration; sign-in re-checks backup
 * eligibility): AAL3 only when all of
 * - the authenticator verified the user (checked before this),
 * - its attestation statement verified (the library's check of its signature and certificate
 *   profile) and its certificate path reaches a trust anchor of the model its AAGUID names, in
 *   metadata Careid was given (an MDS3 blob, or the test authenticators when trusted), the model not
 *   reported compromised,
 * - and it is not backup eligible (a synced key leaves the device: NIST SP 800-63B-4 allows
 *   syncable authenticators at AAL2 only);
 * otherwise AAL2. `none` and self attestation prove nothing of the hardware: AAL2.
 */
import { SettingsService } from '@simplewebauthn/server'
import { decodeAttestationObject } from '@simplewebauthn/server/helpers'
import { chainsToAnchor, type AttestationTrust } from './trust.ts'

export interface AttestationFacts {
  fmt: string
  aaguid: string
  /** The attestation statement's certificates (DER, leaf first), if any. */
  x5c: Uint8Array[]
  backupEligible: boolean
}

export interface LevelDecision {
  level: 2 | 3
  /** The model whose metadata anchored the attestation. */
  model?: string | undefined
  /** Why not AAL3, for the audit. */
  why?: string | undefined
}

/** The facts of a registration's attestation object (base64url), as far as the level needs them. */
export function attestationFacts(attestationObject: string, aaguid: string, backupEligible: boolean): AttestationFacts {
  const decoded = decodeAttestationObject(Buffer.from(attestationObject, 'base64url'))
  const x5c = decoded.get('attStmt').get('x5c') ?? []
  return { fmt: decoded.get('fmt'), aaguid: aaguid.toLowerCase(), x5c, backupEligible }
}

export function decideLevel(facts: AttestationFacts, trust: AttestationTrust, now: number): LevelDecision {
  if (facts.backupEligible) return { level: 2, why: 'backup eligible' }
  if (facts.fmt === 'none' || facts.x5c.length === 0) return { level: 2, why: `no attestation certificate (${facts.fmt})` }
  const model = trust.get(facts.aaguid)
  if (model === undefined) return { level: 2, why: 'no metadata for this AAGUID' }
  if (model.compromised) return { level: 2, why: 'metadata reports this model compromised' }
  if (!chainsToAnchor(facts.x5c, model.anchors, now)) return { level: 2, why: "attestation does not chain to the model's roots" }
  return { level: 3, model: model.description }
}

/**
 * The library would check android-key, android-safetynet and apple attestations against its own
 * roots, fetching certificate revocation lists from the network as it goes. Careid checks every
 * attestation path itself, offline, against the metadata it was given (`decideLevel`), so the
 * library gets no roots to check (and nothing to fetch).
 */
export function offlineAttestationChecks(): void {
  for (const identifier of ['android-key', 'android-safetynet', 'apple'] as const) SettingsService.setRootCertificates({ identifier, certificates: [] })
}
